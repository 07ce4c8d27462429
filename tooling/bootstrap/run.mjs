#!/usr/bin/env node
// Entry point of the README commands. It must run on any Node >= 18 with only npm
// around, so it uses nothing but Node's standard library.
//
// It makes sure a toolchain the workspace can use is present (a current LTS Node and
// the pinned pnpm, both taken from the npm registry into .tooling/ when the machine
// lacks them), installs the workspace, then hands the remaining arguments to pnpm.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const toolingDir = join(root, ".tooling");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = manifest.packageManager.replace(/^pnpm@/, "").split("+")[0];
const nodeVersion = readFileSync(join(root, ".node-version"), "utf8").trim();

function say(line) {
  process.stderr.write(`[bootstrap] ${line}\n`);
}

function fail(line) {
  say(line);
  process.exit(1);
}

/** True when `version` (like "22.18.0") satisfies the toolchain's engine floor. */
function nodeIsRecentEnough(version) {
  const [major, minor] = version.split(".").map(Number);
  if (major === 22) return minor >= 18;
  if (major === 24) return minor >= 11;
  return major >= 26;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) fail(`could not start ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

function npmInstallIntoTooling(specs) {
  mkdirSync(toolingDir, { recursive: true });
  const pkg = join(toolingDir, "package.json");
  if (!existsSync(pkg)) writeFileSync(pkg, JSON.stringify({ private: true }, null, 2));
  say(`installing ${specs.join(", ")} from the npm registry into .tooling/`);
  const status = run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error", ...specs],
    { cwd: toolingDir },
  );
  if (status !== 0) fail(`npm could not install ${specs.join(", ")}; check that the npm registry is reachable`);
}

function installedVersion(packageName) {
  const file = join(toolingDir, "node_modules", packageName, "package.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : undefined;
}

const pathEntries = [];

// Node: prefer the running one when it is recent enough, else a registry build.
if (!nodeIsRecentEnough(process.versions.node)) {
  const nodePackage = `node-${process.platform}-${process.arch}`;
  if (installedVersion(nodePackage) !== nodeVersion) {
    say(`Node ${process.versions.node} is too old for the toolchain; fetching Node ${nodeVersion}`);
    npmInstallIntoTooling([`${nodePackage}@${nodeVersion}`]);
  }
  pathEntries.push(join(toolingDir, "node_modules", nodePackage, "bin"));
}

// pnpm: always the pinned version, so every machine resolves the lockfile the same way.
if (installedVersion("pnpm") !== pnpmVersion) npmInstallIntoTooling([`pnpm@${pnpmVersion}`]);
pathEntries.push(join(toolingDir, "node_modules", ".bin"));

const env = { ...process.env, PATH: [...pathEntries, process.env.PATH].join(":") };
// A bare `pnpm install` on CI would refuse an outdated lockfile, which is what we want.
const installArgs = ["install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"];
if (run("pnpm", installArgs, { env }) !== 0) fail("pnpm install failed; see the output above");

const args = process.argv.slice(2);
if (args.length === 0) process.exit(0);
process.exit(run("pnpm", args, { env }));
