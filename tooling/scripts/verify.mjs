#!/usr/bin/env node
// The whole check a change must pass: build, lint, typecheck, then every test, ending
// with one plain summary line ("N passed, N failed, N skipped") that CI reads.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const report = join(root, ".reports", "vitest.json");

function step(title, command, args) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  return result.status ?? 1;
}

process.env.TURBO_TELEMETRY_DISABLED = "1";
const turboArgs = ["turbo", "run", "build", "lint", "typecheck", "--output-logs=errors-only"];
if (process.env.CI) turboArgs.push("--no-daemon");
if (step("build, lint and typecheck", "pnpm", ["exec", ...turboArgs]) !== 0) {
  process.stdout.write("\nbuild, lint or typecheck failed: fix the errors above, then run the tests again\n");
  process.exit(1);
}

mkdirSync(dirname(report), { recursive: true });
rmSync(report, { force: true });
const testStatus = step("tests", "pnpm", [
  "exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`,
]);

if (!existsSync(report)) {
  process.stdout.write("0 passed, 1 failed\n");
  process.exit(testStatus || 1);
}
const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, "utf8"));
const skipped = (numPendingTests ?? 0) + (numTodoTests ?? 0);
process.stdout.write(`\ntests: ${numPassedTests} passed, ${numFailedTests} failed, ${skipped} skipped\n`);
process.exit(testStatus !== 0 || numFailedTests > 0 || numPassedTests === 0 ? 1 : 0);
