import { statSync } from "node:fs";
import { join } from "node:path";
import type { CharmHandler, HookContext } from "./context.js";
import { JujuError } from "./errors.js";
import { parseHookContext } from "./hook-context.js";
import type { HookTools } from "./hook-tools.js";
import { createJujuLogger } from "./logger.js";
import { readDispatchPrefetch } from "./prefetch.js";
import { createHookTools, type WorkloadVersionRecord } from "./process-hook-tools.js";

/**
 * Where, under the charm directory, the real hook tools keep the workload version this unit last
 * set (see `CreateHookToolsOptions.workloadVersionRecord`). `.refresh_cache` holds files a charm
 * writes for itself at run time; charm-build leaves it out of packed charms.
 */
export const WORKLOAD_VERSION_RECORD = ".refresh_cache/workload_version";

/** Options of {@link runCharm}; the defaults are what a deployed charm needs. */
export interface RunCharmOptions {
  /** The `JUJU_*` environment. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Charm directory when `JUJU_CHARM_DIR` is unset. @default process.cwd() */
  readonly cwd?: string;
  /** Builds the hook tools for this event. @default the real ones ({@link createHookTools}) */
  readonly createTools?: (context: HookContext) => HookTools;
  /** Where failures are printed besides `juju-log`. @default writes to process.stderr */
  readonly stderr?: (text: string) => void;
  /** Where `dispatch` pipes its prefetched hook-tool answers (see `HOOK_TOOL_PREFETCH_ENV`). @default process.stdin */
  readonly stdin?: () => NodeJS.ReadableStream;
  /**
   * Leave out an `application-version-set` of the version this unit recorded setting under the
   * same charm code (see `CreateHookToolsOptions.workloadVersionRecord`). @default true
   */
  readonly rememberWorkloadVersion?: boolean;
  /** Ends the run with an exit code. @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * The entry point of a charm's bundled JavaScript, started by `dispatch` for every event.
 *
 * Reads the hook context from the environment (the only place this package reads
 * `process.env`), runs `handler` once with the context, the hook tools and a `juju-log`
 * logger, waits for log lines to be written, and exits 0.
 *
 * If the handler throws, the error (message and stack) is logged at ERROR through
 * `juju-log` and printed to stderr, and the process exits 1: Juju then discards the hook's
 * relation and state writes and retries it. For an action, `action-fail` is called with the
 * error's message first, so the user sees why in `juju run` output.
 *
 * A charm's entry calls it as `void runCharm(handleEvent);`: it reports every failure and ends
 * the process itself, so there is nothing to await (charm-build bundles charms as CommonJS,
 * where a module cannot await at its top level).
 *
 * @returns the exit code, when `exit` returns (tests); a deployed charm's process ends here.
 */
export async function runCharm(handler: CharmHandler, options: RunCharmOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? ((text: string) => void process.stderr.write(text));
  const exit = options.exit ?? ((code: number) => process.exit(code));

  let context: HookContext;
  try {
    context = parseHookContext(env, { cwd: options.cwd ?? process.cwd() });
  } catch (error) {
    // No context, but the hook tools may still work (the agent set PATH and the socket): try to log there too.
    const log = createJujuLogger(createHookTools({ env }), { fallback: () => undefined });
    const report = describeFailure(error);
    log.error(`cannot start the charm: ${report}`);
    stderr(`cannot start the charm: ${report}\n`);
    await log.flush();
    exit(1);
    return 1;
  }

  const tools =
    options.createTools?.(context) ??
    createHookTools({
      env,
      unitName: context.unitName,
      workloadVersionRecord: workloadVersionRecordOf(context, options),
      prefetched: readDispatchPrefetch(env, options.stdin),
    });
  const log = createJujuLogger(tools, { fallback: stderr });
  try {
    await handler({ context, tools, log });
    await log.flush();
    exit(0);
    return 0;
  } catch (error) {
    const what = context.event.kind === "action" ? `action ${context.event.name}` : `hook ${context.event.name}`;
    if (context.event.kind === "action") {
      // Lines the handler logged come first, so debug-log reads in the order things happened.
      await log.flush();
      try {
        await tools.actionFail(error instanceof Error ? error.message : String(error));
      } catch (failError) {
        stderr(`action-fail failed as well: ${describeFailure(failError)}\n`);
      }
    }
    const report = describeFailure(error);
    log.error(`${what} failed: ${report}`);
    stderr(`${what} failed: ${report}\n`);
    await log.flush();
    exit(1);
    return 1;
  }
}

/**
 * Where the real hook tools record the workload version they set, under the identity of the
 * deployed `dispatch` (Juju writes it anew whenever it deploys charm code); none without one.
 */
function workloadVersionRecordOf(context: HookContext, options: RunCharmOptions): WorkloadVersionRecord | undefined {
  if (options.rememberWorkloadVersion === false) return undefined;
  try {
    const dispatch = statSync(join(context.charmDir, "dispatch"), { bigint: true });
    return { path: join(context.charmDir, WORKLOAD_VERSION_RECORD), codeIdentity: `${dispatch.ino}:${dispatch.mtimeNs}` };
  } catch {
    return undefined;
  }
}

/** Stack (which starts with the message), what fixes it, and the chain of causes. */
function describeFailure(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(depth === 0 ? text : `caused by: ${text}`);
    if (current instanceof JujuError && current.resolution !== undefined) parts.push(`to fix: ${current.resolution}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\n");
}
