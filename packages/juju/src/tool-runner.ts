import type { spawn as Spawn } from "node:child_process";

/**
 * `node:child_process`, loaded at the first tool a hook runs: when `dispatch` prefetched the
 * reads and nothing needs writing, an event starts no process and need not load it.
 */
let spawnLoaded: Promise<typeof Spawn> | undefined;
function loadSpawn(): Promise<typeof Spawn> {
  spawnLoaded ??= import("node:child_process").then((module) => module.spawn);
  return spawnLoaded;
}

/** One hook tool call: the tool's name (looked up on `PATH`), its arguments, and optional stdin. */
export interface ToolInvocation {
  readonly tool: string;
  readonly args: readonly string[];
  /** Written to the tool's stdin, then closed. Without it stdin is `/dev/null`. */
  readonly stdin?: string;
}

/** How a hook tool process ended. */
export interface ToolExit {
  /** `undefined` when the process was killed by a signal. */
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /**
   * Epoch milliseconds no later than the moment the tool answered, when the answer is older
   * than the call (a `dispatch` prefetch); the caller's own clock otherwise.
   */
  readonly askedAt?: number;
}

/**
 * Runs one hook tool. Resolves with how it ended, whatever the exit code; rejects only when
 * the process could not be started at all (the rejection carries Node's `code`, e.g.
 * `ENOENT` when the tool is not on `PATH`).
 */
export type HookToolRunner = (invocation: ToolInvocation) => Promise<ToolExit>;

/** Options of {@link createProcessRunner}. */
export interface ProcessRunnerOptions {
  /**
   * Environment of the tool processes; `PATH` in it is where tools are looked up. Defaults to
   * inheriting this process's environment (Juju's hook tools need `JUJU_CONTEXT_ID` and
   * `JUJU_AGENT_SOCKET_*` from it).
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/**
 * The real runner: spawns the tool with an argument array and no shell, so no argument or
 * message is ever interpreted by a shell, whatever characters it holds.
 */
export function createProcessRunner(options: ProcessRunnerOptions = {}): HookToolRunner {
  return async (invocation) => {
    const spawn = await loadSpawn();
    return new Promise<ToolExit>((resolve, reject) => {
      const child = spawn(invocation.tool, [...invocation.args], {
        shell: false,
        stdio: [invocation.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        env: options.env,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
      let settled = false;
      child.on("error", (error) => {
        if (settled) return;
        settled = true;
        reject(error);
      });
      child.on("close", (code, signal) => {
        if (settled) return;
        settled = true;
        resolve({
          exitCode: code ?? undefined,
          signal: signal ?? undefined,
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      });
      if (invocation.stdin !== undefined && child.stdin !== null) {
        // A tool that exits without reading its input makes the write fail with EPIPE; its
        // exit code and stderr tell the real story, so the write error itself is dropped.
        child.stdin.on("error", () => undefined);
        child.stdin.end(invocation.stdin, "utf8");
      }
    });
  };
}
