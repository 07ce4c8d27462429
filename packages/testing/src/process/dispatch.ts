import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { HookTools, RelationId } from "@refresh/juju";
import { hookPath } from "./environment.js";
import type { HookToolCall, HookToolServer } from "./server.js";
import { runProcess } from "./spawn.js";
import type { ProcessOutcome } from "./spawn.js";

/** Options of {@link runDispatch}. */
export interface RunDispatchOptions {
  /** The server whose bin directory goes on `PATH` and which answers the tool calls. */
  readonly server: HookToolServer;
  /** The unit's charm directory: the hook's working directory. */
  readonly charmDir: string;
  /** The executable to run. Default `<charmDir>/dispatch`. */
  readonly dispatchPath?: string | undefined;
  /**
   * The hook's environment, normally from `buildJujuEnvironment` (plus any extra variables).
   * `JUJU_CONTEXT_ID`, the hook-tool socket variables and `PATH` are set here and win.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Answers this hook's tool calls. */
  readonly tools: HookTools;
  /** Wall-clock limit for the whole hook; the process group is killed when it passes. */
  readonly timeoutMs: number;
  /**
   * Every relation in the hook's context, so `-r N` can be resolved and unknown relations
   * rejected as Juju does. Optional; see `HookToolScope.relations`.
   */
  readonly relations?: readonly RelationId[] | undefined;
  /** The context id to use. Default: a fresh one shaped like Juju's (`<unit>-<hook>-<random>`). */
  readonly contextId?: string | undefined;
}

/**
 * How a dispatch run ended: how the `dispatch` process ended, plus what the hook did through
 * its tools. `stderr` also carries a readable line when the executable could not be started
 * (`startError`) or the timeout killed it.
 */
export interface DispatchResult extends ProcessOutcome {
  /** The hook succeeded: exit status 0, not killed, not timed out. */
  readonly ok: boolean;
  /** How many hook-tool calls the hook made (answered ones, failed calls included). */
  readonly toolCalls: number;
  /** Every hook-tool call, in order. */
  readonly calls: readonly HookToolCall[];
  readonly contextId: string;
}

function newContextId(env: Readonly<Record<string, string>>): string {
  const unit = env["JUJU_UNIT_NAME"] || "unit";
  const event = env["JUJU_HOOK_NAME"] || env["JUJU_ACTION_NAME"] || "event";
  return `${unit}-${event}-${randomBytes(8).readBigUInt64BE().toString()}`;
}

/**
 * Runs the charm's `dispatch` for one event, as Juju's unit agent would: a fresh
 * environment, the charm directory as working directory, stdin closed, the hook tools on
 * `PATH` answering through `tools` for exactly the lifetime of the process.
 */
export async function runDispatch(options: RunDispatchOptions): Promise<DispatchResult> {
  const contextId = options.contextId ?? newContextId(options.env);
  const file = options.dispatchPath ?? join(options.charmDir, "dispatch");
  const calls: HookToolCall[] = [];
  const unregister = options.server.register(contextId, options.tools, {
    scope: {
      relations: options.relations,
      relation: options.env["JUJU_RELATION_ID"] || undefined,
      remoteUnit: options.env["JUJU_REMOTE_UNIT"] || undefined,
      remoteApp: options.env["JUJU_REMOTE_APP"] || undefined,
    },
    onCall: (call) => calls.push(call),
  });
  try {
    const outcome = await runProcess({
      file,
      args: [],
      cwd: options.charmDir,
      env: {
        ...options.env,
        ...options.server.environment,
        JUJU_CONTEXT_ID: contextId,
        PATH: hookPath(options.server.binDir.path),
      },
      timeoutMs: options.timeoutMs,
    });
    let stderr = outcome.stderr;
    if (outcome.startError !== undefined) stderr += `cannot run ${file}: ${outcome.startError.message}\n`;
    if (outcome.timedOut) stderr += `hook killed: it ran longer than the ${options.timeoutMs} ms timeout\n`;
    return {
      ok: outcome.exitCode === 0 && !outcome.timedOut,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      stdout: outcome.stdout,
      stderr,
      durationMs: outcome.durationMs,
      toolCalls: calls.length,
      calls,
      contextId,
      startError: outcome.startError,
    };
  } finally {
    unregister();
  }
}

/**
 * One event to run through a charm's `dispatch`, in the shape the simulator's process mode
 * asks for (`DispatchRequest` of the model); declared here so the two stay decoupled.
 */
export interface ProcessDispatchRequest {
  /** Absolute path of the executable to run. */
  readonly executable: string;
  readonly charmDir: string;
  /** The Juju environment of the event; `PATH`, the context id and the socket are added. */
  readonly environment: Readonly<Record<string, string>>;
  readonly tools: HookTools;
  readonly timeoutMs: number;
  /** See {@link RunDispatchOptions.relations}. */
  readonly relations?: readonly RelationId[] | undefined;
}

/** How a dispatch ended, with an exit status that is always a number (see {@link createDispatcher}). */
export interface ProcessDispatchOutcome {
  /** The exit status; 128 + the signal number when a signal (or the timeout) killed it, 127 when it could not start. */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** From starting the process to its exit, in ms. */
  readonly durationMs: number;
  /** Everything else about the run: duration, tool calls, timeout. */
  readonly result: DispatchResult;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/**
 * A dispatcher for the simulator's process mode: every request runs through
 * {@link runDispatch} on `server`. Exit statuses follow the shell's convention, so a hook
 * the timeout killed reads as failed (137) rather than as a missing number.
 */
export function createDispatcher(server: HookToolServer): (request: ProcessDispatchRequest) => Promise<ProcessDispatchOutcome> {
  return async (request) => {
    const result = await runDispatch({
      server,
      charmDir: request.charmDir,
      dispatchPath: request.executable,
      env: request.environment,
      tools: request.tools,
      timeoutMs: request.timeoutMs,
      relations: request.relations,
    });
    let exitCode: number;
    if (result.exitCode !== null) exitCode = result.exitCode;
    else if (result.startError !== undefined) exitCode = 127;
    else exitCode = 128 + (result.signal === null ? 9 : (SIGNAL_NUMBERS[result.signal] ?? 9));
    return { exitCode, stdout: result.stdout, stderr: result.stderr, durationMs: result.durationMs, result };
  };
}
