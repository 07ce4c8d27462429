#!/usr/bin/env node
// Runs every package's benchmarks (files named *.bench.ts). Budgets live in the benchmarks
// themselves: counts and sizes (hook-tool calls, requests, bundle bytes) always fail the run
// when exceeded, and so do wall-time ratios unless REFRESH_BENCH_ENFORCE_TIME=0 (for a machine
// too loaded for wall time to mean anything: they are then only reported).
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const result = spawnSync("pnpm", ["exec", "vitest", "bench", "--run", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
