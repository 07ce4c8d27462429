import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildApp, buildRevisions, loadCharmApp } from "./charm-app.js";
import { runDemo } from "./demo.js";
import { RefreshSimError } from "./errors.js";
import { palette, renderStatus, useColour } from "./render.js";
import { runScenario, type RunObserver } from "./run.js";
import { loadScenario } from "./scenario.js";

const USAGE = `usage:
  refresh-sim demo [--substrate kubernetes|machines]
  refresh-sim run <scenario.yaml> [--seed N] [--json]
  refresh-sim build <charm app dir> [--pack <file.charm>] [--with-node <x86_64|aarch64|…>] [--revisions]`;

/** Where the command writes; injectable for tests. */
export interface Io {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly environment: Readonly<Record<string, string | undefined>>;
}

const processIo: Io = { stdout: process.stdout, stderr: process.stderr, environment: process.env };

/**
 * Runs the command line; resolves to the exit status: 0 when no invariant was violated,
 * 1 when one was (or the run failed), 2 for invalid input (usage, scenario file).
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "demo":
        return await demoCommand(rest, io);
      case "run":
        return await runCommand(rest, io);
      case "build":
        return await buildCommand(rest, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new RefreshSimError("USAGE", `unknown command "${command}"\n${USAGE}`, 2);
    }
  } catch (error) {
    if (error instanceof RefreshSimError) {
      io.stderr.write(`refresh-sim: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true) {
      io.stderr.write(`refresh-sim: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`refresh-sim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

async function runCommand(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { seed: { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) throw new RefreshSimError("USAGE", `run needs exactly one scenario file\n${USAGE}`, 2);
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RefreshSimError("USAGE", `--seed must be a non-negative integer, got "${values.seed}"`, 2);
  }
  const scenario = await loadScenario(positionals[0] as string);
  const app = await loadCharmApp(scenario.charm);
  const colours = palette(useColour(io.stdout, io.environment));
  const progress = progressObserver(io, values.json);
  const report = await runScenario(scenario, app, { ...(seed === undefined ? {} : { seed }), observer: progress });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.stdout.write(`${renderStatus(app.name, report.final, colours)}\n\n`);
    for (const [index, step] of report.steps.entries()) {
      if (step.result !== null) io.stdout.write(`step ${index + 1}: ${JSON.stringify(step.result)}\n`);
    }
    if (report.violations.length === 0) io.stdout.write(colours.status("active", "no invariant violated\n"));
    for (const violation of report.violations) {
      const when = violation.step < 0 ? "during deployment" : `at step ${violation.step + 1}`;
      io.stdout.write(colours.status("blocked", `violation ${when} (${violation.invariant}): ${violation.explanation}\n`));
    }
  }
  return report.violations.length === 0 ? 0 : 1;
}

/** Progress on stderr: one line per step, and a live hook count while hooks run on a terminal. */
function progressObserver(io: Io, quiet: boolean): RunObserver {
  const live = io.stderr.isTTY === true;
  if (quiet && !live) return {};
  let ticker: NodeJS.Timeout | undefined;
  const stopTicker = (): void => {
    if (ticker !== undefined) clearInterval(ticker);
    ticker = undefined;
  };
  return {
    building: (message) => io.stderr.write(`${message}\n`),
    stepStarted: (index, total, description, world) => {
      stopTicker();
      const label = index < 0 ? "deploy" : `${index + 1}/${total}`;
      if (!live) {
        io.stderr.write(`[${label}] ${description}\n`);
        return;
      }
      const started = world.sim.history.length;
      const draw = (): void => {
        io.stderr.write(`\r\u001b[2K[${label}] ${description} — ${world.sim.history.length - started} hooks run`);
      };
      draw();
      ticker = setInterval(draw, 200);
      ticker.unref();
    },
    stepFinished: () => {
      if (!live) return;
      stopTicker();
      io.stderr.write("\r\u001b[2K");
    },
  };
}

async function demoCommand(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { substrate: { type: "string", default: "kubernetes" } } });
  if (values.substrate !== "kubernetes" && values.substrate !== "machines") {
    throw new RefreshSimError("USAGE", `--substrate must be kubernetes or machines, got "${values.substrate}"`, 2);
  }
  return runDemo(values.substrate, io);
}

async function buildCommand(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { pack: { type: "string" }, "with-node": { type: "string" }, revisions: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) throw new RefreshSimError("USAGE", `build needs exactly one charm app directory\n${USAGE}`, 2);
  const app = await loadCharmApp(resolve(positionals[0] as string));
  const built = await buildApp(app, {
    ...(values.pack === undefined ? {} : { pack: values.pack }),
    ...(values["with-node"] === undefined ? {} : { withNode: values["with-node"] }),
  });
  io.stdout.write(`built ${app.name} ${built.charmVersion} into ${built.charmDir}\n`);
  if (built.packed !== undefined) io.stdout.write(`packed ${built.packed}\n`);
  if (values.revisions) {
    const revisions = await buildRevisions(app, { onBuild: (message) => io.stdout.write(`${message}\n`) });
    for (const revision of revisions) io.stdout.write(`revision ${revision.name} (${revision.revision}, ${revision["charm-version"]}) in ${revision.charmDir}\n`);
  }
  return 0;
}
