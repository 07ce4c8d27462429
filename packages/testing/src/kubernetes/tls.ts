import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { TestingError } from "../errors.js";

const run = promisify(execFile);

/** PEM material for a throwaway certificate authority and one server certificate it signed. */
export interface TestCertificates {
  /** The CA certificate: what a client puts in `ca.crt` to trust the server. */
  readonly caCertificate: string;
  /** The server certificate (valid for 127.0.0.1, ::1 and localhost). */
  readonly serverCertificate: string;
  /** The server's private key. */
  readonly serverKey: string;
}

/** The `openssl` command is needed to make certificates and could not be run. Code: `OPENSSL_UNAVAILABLE`. */
export class OpensslUnavailable extends TestingError {
  declare readonly code: "OPENSSL_UNAVAILABLE";

  constructor(cause: unknown) {
    super(
      "OPENSSL_UNAVAILABLE",
      "could not run `openssl` to create the fake API server's certificates; install OpenSSL (Debian: apt-get install openssl)",
      { cause, resolution: "apt-get install openssl" },
    );
  }
}

/**
 * `openssl` ran but failed while making the test certificates; the message carries its
 * stderr. Code: `OPENSSL_FAILED`.
 */
export class OpensslFailed extends TestingError {
  declare readonly code: "OPENSSL_FAILED";

  constructor(subcommand: string, stderr: string, cause: unknown) {
    super(
      "OPENSSL_FAILED",
      `openssl ${subcommand} failed while creating test certificates: ${stderr}; check that the installed OpenSSL supports EC P-256 keys (OpenSSL 1.1.1 or later)`,
      { cause },
    );
  }
}

/**
 * Makes a fresh CA and a server certificate signed by it, valid for two days, with the
 * `openssl` command line (argument arrays, no shell). The CA key is thrown away: nothing else
 * can ever be signed by it. EC P-256 keys keep this fast (tens of milliseconds).
 */
export async function generateTestCertificates(commonName = "fake-kube-apiserver"): Promise<TestCertificates> {
  const directory = await mkdtemp(join(tmpdir(), "fake-k8s-tls-"));
  const path = (name: string): string => join(directory, name);
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    await openssl([
      "req", "-x509", ...ecKey, "-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2",
      "-subj", "/CN=fake-kubernetes-ca",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(["req", "-new", ...ecKey, "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", `/CN=${commonName}`]);
    await writeFile(
      path("server.ext"),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes.default.svc",
        "",
      ].join("\n"),
    );
    await openssl([
      "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
      "-CAcreateserial", "-out", path("server.crt"), "-days", "2", "-sha256", "-extfile", path("server.ext"),
    ]);
    const [caCertificate, serverCertificate, serverKey] = await Promise.all(
      ["ca.crt", "server.crt", "server.key"].map((name) => readFile(path(name), "utf8")),
    );
    return { caCertificate: caCertificate ?? "", serverCertificate: serverCertificate ?? "", serverKey: serverKey ?? "" };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new OpensslUnavailable(error);
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new OpensslFailed(args[0] ?? "", stderr.trim() || String(error), error);
  }
}
