#!/usr/bin/env node
// Runs every package's benchmarks (files named *.bench.ts). Budgets live in the
// benchmarks themselves: a bench fails loudly when its budget is exceeded.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const result = spawnSync("pnpm", ["exec", "vitest", "bench", "--run", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
