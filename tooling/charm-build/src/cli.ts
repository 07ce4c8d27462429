#!/usr/bin/env node
// charm-build <app dir> [--out dir] [--charm-version v] [--with-node machine] [--node-version v] [--pack file]
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CharmBuildError } from "./errors.ts";
import { buildCharm, packCharm } from "./pack.ts";

const USAGE = "usage: charm-build <app dir> [--out <dir>] [--charm-version <track/x.y.z>] [--with-node <x86_64|aarch64|…>] [--node-version <version>] [--pack <file.charm>]";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      "charm-version": { type: "string" },
      "with-node": { type: "string" },
      "node-version": { type: "string", default: process.versions.node },
      pack: { type: "string" },
    },
  });
  const [appArg] = positionals;
  if (appArg === undefined || positionals.length > 1) throw new CharmBuildError("USAGE", USAGE);
  const appDir = resolve(appArg);
  const machine = values["with-node"];
  const { charmDir, charmVersion } = await buildCharm({
    appDir,
    outDir: resolve(values.out ?? `${appDir}/build/charm`),
    ...(values["charm-version"] === undefined ? {} : { charmVersion: values["charm-version"] }),
    ...(machine === undefined ? {} : { node: { machine, version: values["node-version"] } }),
  });
  process.stdout.write(`built ${charmVersion} into ${charmDir}\n`);
  if (values.pack !== undefined) {
    await packCharm(charmDir, resolve(values.pack));
    process.stdout.write(`packed ${resolve(values.pack)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`charm-build: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof CharmBuildError && error.code === "USAGE" ? 2 : 1;
});
