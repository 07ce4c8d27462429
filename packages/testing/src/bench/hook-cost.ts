/**
 * Measuring whole hooks run through a charm's real `dispatch` in a process-mode world, for the
 * substrates' hook-cost benches: each hook is timed against a bare Node start just before it,
 * and its hook-tool calls and requests to the fake servers are counted.
 */
import { spawnSync } from "node:child_process";
import type { HookRecord, Simulator } from "../model/index.js";
import { runProcess } from "../process/spawn.js";

/** Counters of the fake servers the charm talks to, read before and after each hook. */
export interface ServerCounters {
  /** Requests answered so far. */
  readonly requests: number;
  /** Connections accepted so far (TLS handshakes, unix-socket connections); undefined when not counted. */
  readonly connections: number | undefined;
}

/** One hook, as the bench saw it. */
export interface MeasuredHook {
  readonly record: HookRecord;
  /**
   * The hook's process, from starting `dispatch` to its exit, in ms: what the budget is about.
   * Like {@link bareMs}, it includes starting the process from this one.
   */
  readonly processMs: number;
  /** Wall time from starting the hook's first scheduler step to its history record, in ms (adds the simulator's bookkeeping). */
  readonly wallMs: number;
  /** A bare `node -e 0` timed just before the hook (interleaved, so load affects both alike). */
  readonly bareMs: number;
  /** Requests the hook made to the fake servers. */
  readonly requests: number;
  /** Connections the hook opened to them, when counted. */
  readonly connections: number | undefined;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Times one `node <args>` with only a PATH and `env` in its environment: the test runner's own
 * variables (NODE_OPTIONS and the like) would be timed too.
 */
export function timeNode(args: readonly string[], env: Readonly<Record<string, string>> = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, {
    env: { ...env, PATH: process.env["PATH"] ?? "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited with ${String(result.status)}: ${result.stderr.toString()}`);
  return elapsed;
}

/**
 * Times one `node <args>` as {@link timeNode} does, but without blocking this process: for a
 * script that talks to the fake servers this process runs. Rejects after `timeoutMs`.
 */
export async function timeNodeWhileServing(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 30_000): Promise<number> {
  const outcome = await runProcess({
    file: process.execPath,
    args,
    cwd: process.cwd(),
    env: { ...env, PATH: process.env["PATH"] ?? "" },
    timeoutMs,
  });
  if (outcome.exitCode !== 0) {
    throw new Error(`node ${args.join(" ")} exited with ${String(outcome.exitCode ?? outcome.signal)}: ${outcome.startError?.message ?? outcome.stderr}`);
  }
  return outcome.durationMs;
}

/** Times a bare `node -e 0`, as {@link timeNode} runs it. */
export function timeBareNode(): number {
  return timeNode(["-e", "0"]);
}

/**
 * Runs the simulator's queued hooks one at a time, timing each from its first scheduler step
 * to its history record, with a bare Node start timed just before each. The simulator must
 * run serially (`concurrency: "serial"`), or hooks of different units would overlap.
 */
export async function runHooksTimed(sim: Simulator, counters: () => ServerCounters): Promise<MeasuredHook[]> {
  const measured: MeasuredHook[] = [];
  for (;;) {
    const before = sim.history.length;
    const bareMs = timeBareNode();
    const countersBefore = counters();
    const started = process.hrtime.bigint();
    let progressed = false;
    while (sim.history.length === before) {
      if (!(await sim.step())) break;
      progressed = true;
    }
    if (!progressed) return measured;
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const record = sim.history[sim.history.length - 1];
    if (record === undefined) return measured;
    if (sim.history.length !== before + 1) throw new Error("two hooks ended in one measurement: run the simulator with concurrency \"serial\"");
    const countersAfter = counters();
    const connections =
      countersBefore.connections === undefined || countersAfter.connections === undefined ? undefined : countersAfter.connections - countersBefore.connections;
    if (record.processMs === undefined) throw new Error("the hook ran in-process: hook cost is measured in process mode only");
    measured.push({ record, processMs: record.processMs, wallMs, bareMs, requests: countersAfter.requests - countersBefore.requests, connections });
  }
}

/** Total hook-tool calls of a hook. */
export function toolCallsOf(record: HookRecord): number {
  return Object.values(record.toolCalls).reduce((sum, count) => sum + count, 0);
}

/** What one kind of event cost, over every run of it. */
export interface EventCostRow {
  readonly event: string;
  readonly runs: number;
  readonly medianProcessMs: number;
  readonly medianWallMs: number;
  readonly medianBareMs: number;
  /** Median of the per-run ratios hook process / bare node (each hook against the bare run just before it). */
  readonly ratio: number;
  readonly maxToolCalls: number;
  readonly maxRelationSets: number;
  /** Requests per hook to the API server or snapd (max over runs). */
  readonly maxRequests: number;
  /** New TLS or unix-socket connections per hook (max over runs), when the bench can count them. */
  readonly maxConnections: number | undefined;
  /** Hook-tool calls by tool of the run that made the most calls. */
  readonly busiestCalls: Readonly<Record<string, number>>;
}

/** Summarises the runs of one event kind. */
export function summariseEventCost(event: string, runs: readonly MeasuredHook[]): EventCostRow {
  if (runs.length === 0) throw new Error(`no runs of ${event}`);
  const connections = runs.map((run) => run.connections);
  return {
    event,
    runs: runs.length,
    medianProcessMs: median(runs.map((run) => run.processMs)),
    medianWallMs: median(runs.map((run) => run.wallMs)),
    medianBareMs: median(runs.map((run) => run.bareMs)),
    ratio: median(runs.map((run) => run.processMs / run.bareMs)),
    maxToolCalls: Math.max(...runs.map((run) => toolCallsOf(run.record))),
    maxRelationSets: Math.max(...runs.map((run) => run.record.toolCalls["relation-set"] ?? 0)),
    maxRequests: Math.max(...runs.map((run) => run.requests)),
    maxConnections: connections.every((count) => count !== undefined) ? Math.max(...(connections as number[])) : undefined,
    busiestCalls: runs.reduce((busiest, run) => (toolCallsOf(run.record) > toolCallsOf(busiest.record) ? run : busiest)).record.toolCalls,
  };
}

/** A small Markdown table of the rows, as the README records it. */
export function formatEventCostTable(rows: readonly EventCostRow[], requestsLabel: string): string {
  const lines = [
    `| event | runs | hook process (median) | node -e 0 (median) | ratio (median) | with simulator (median) | hook-tool calls | relation-set | ${requestsLabel} | connections |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.event} | ${row.runs} | ${row.medianProcessMs.toFixed(1)} ms | ${row.medianBareMs.toFixed(1)} ms | ${row.ratio.toFixed(2)}x | ${row.medianWallMs.toFixed(1)} ms | ${row.maxToolCalls} | ${row.maxRelationSets} | ${row.maxRequests} | ${row.maxConnections ?? "n/a"} |`,
    );
  }
  lines.push("", "Hook-tool calls of the busiest run:");
  for (const row of rows) lines.push(`- ${row.event}: ${Object.entries(row.busiestCalls).map(([tool, count]) => `${tool} ${count}`).join(", ")}`);
  return lines.join("\n");
}
