#!/usr/bin/env node
// Starts refresh-sim from its TypeScript sources. The command and the workspace libraries it
// uses are bundled with esbuild into dist/cli.mjs on first use and again whenever a source
// file is newer than the bundle, so it works straight after `pnpm install`, starts in a
// fraction of a second afterwards, and never runs stale code.
import { existsSync, readdirSync, renameSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(appDir, "../..");
const bundlePath = join(appDir, "dist", "cli.mjs");
const sourceDirs = [
  join(appDir, "src"),
  ...["core", "juju", "kubernetes", "machines", "testing"].map((name) => join(repoRoot, "packages", name, "src")),
  join(repoRoot, "tooling", "charm-build", "src"),
];

function newestSourceTime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceTime(path));
    else if (entry.name.endsWith(".ts") && !/\.(test|bench)\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const stale = !existsSync(bundlePath) || Math.max(...sourceDirs.map(newestSourceTime)) > statSync(bundlePath).mtimeMs;
if (stale) {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(appDir, "src", "cli.ts")],
    // Written aside and renamed, so concurrent runs never import a half-written bundle.
    outfile: `${bundlePath}.${process.pid}.tmp`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    conditions: ["@refresh/source"],
    // esbuild ships a native binary: load it from node_modules rather than bundling it.
    external: ["esbuild"],
    logLevel: "error",
    banner: { js: "import { createRequire as __simRequire } from 'node:module'; const require = __simRequire(import.meta.url);" },
  });
  renameSync(`${bundlePath}.${process.pid}.tmp`, bundlePath);
}
const { main } = await import(pathToFileURL(bundlePath).href);
process.exitCode = await main(process.argv.slice(2));
