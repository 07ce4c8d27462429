import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KubernetesApiError } from "./errors.js";

/** Where Kubernetes mounts the pod's service-account token, CA bundle and namespace. */
export const DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * How to reach the API server from inside the charm's pod. Build it with
 * {@link loadInClusterConfig}. `token` is a secret: never log it or put it in an error.
 */
export interface InClusterConfig {
  /** API server host: a DNS name or an IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** The pod's namespace; under Juju, the model's name. */
  readonly namespace: string;
  /** PEM CA bundle that signed the API server's certificate. */
  readonly ca: string;
  /** Service-account bearer token. */
  readonly token: string;
}

/**
 * Reads the in-cluster connection details, the way every in-cluster Kubernetes client does:
 * host and port from `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT` (Juju passes both
 * into hooks), and `token`, `ca.crt` and `namespace` from the service-account directory.
 *
 * `KUBERNETES_SERVICE_ACCOUNT_DIR` overrides the directory (default
 * {@link DEFAULT_SERVICE_ACCOUNT_DIR}); the simulator in `@refresh/testing` uses it to point a
 * charm at its fake API server. Files are re-read on every call because kubelet rotates the
 * projected token.
 *
 * @param environment the hook's environment (`HookContext.environment`), never `process.env` directly
 */
export async function loadInClusterConfig(
  environment: Readonly<Record<string, string | undefined>>,
): Promise<InClusterConfig> {
  const host = environment["KUBERNETES_SERVICE_HOST"]?.trim() ?? "";
  const portText = environment["KUBERNETES_SERVICE_PORT"]?.trim() ?? "";
  if (host === "" || portText === "") {
    throw new KubernetesApiError(
      "KUBERNETES_CONFIG_MISSING",
      "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set, so the Kubernetes API server cannot be found; this library only works in a Kubernetes charm's container, where Juju sets them",
    );
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new KubernetesApiError(
      "KUBERNETES_CONFIG_MISSING",
      `KUBERNETES_SERVICE_PORT is "${portText}", not a TCP port number; check the pod's environment`,
    );
  }
  const directory = environment["KUBERNETES_SERVICE_ACCOUNT_DIR"] ?? DEFAULT_SERVICE_ACCOUNT_DIR;
  const [token, ca, namespace] = await Promise.all([
    readServiceAccountFile(directory, "token"),
    readServiceAccountFile(directory, "ca.crt"),
    readServiceAccountFile(directory, "namespace"),
  ]);
  return {
    // IPv6 literals sometimes arrive bracketed; node:https wants them bare.
    host: host.replace(/^\[(.*)\]$/, "$1"),
    port,
    namespace: namespace.trim(),
    ca,
    token: token.trim(),
  };
}

async function readServiceAccountFile(directory: string, file: string): Promise<string> {
  const path = join(directory, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new KubernetesApiError(
      "KUBERNETES_CONFIG_MISSING",
      `cannot read the service-account file ${path}; the charm container must run with its service account mounted (Juju does this for sidecar charms)`,
      { cause },
    );
  }
  if (text.trim() === "") {
    throw new KubernetesApiError(
      "KUBERNETES_CONFIG_MISSING",
      `the service-account file ${path} is empty; the pod's service account is not mounted correctly`,
    );
  }
  return text;
}
