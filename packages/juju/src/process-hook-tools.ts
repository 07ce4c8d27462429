import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import * as z from "zod/mini";
import { englishIssues } from "./english-issues.js";
import { validateActionResultKeys } from "./action-results.js";
import { classifyHookToolFailure, HookToolFailed, HookToolOutputInvalid, UnknownHookTool } from "./errors.js";
import type {
  DatabagOwner,
  GoalState,
  HookTools,
  LogLevel,
  RelationId,
  SettableStatus,
  StatusValue,
} from "./hook-tools.js";
import { createPrefetchingRunner, type PrefetchedAnswers } from "./prefetch.js";
import { createProcessRunner } from "./tool-runner.js";
import type { HookToolRunner, ToolExit } from "./tool-runner.js";

/** Hook tool processes actually started, per tool name (memoised and prefetched reads do not count). */
export type HookToolStats = Readonly<Record<string, number>>;

/** The real {@link HookTools}, plus the call counts benchmarks report. */
export interface ProcessHookTools extends HookTools {
  /** How many times each hook tool was run by this instance so far. */
  stats(): HookToolStats;
}

/** Options of {@link createHookTools}. */
export interface CreateHookToolsOptions {
  /**
   * Environment of the tool processes (`PATH` locates the tools). Defaults to inheriting
   * this process's environment. `JUJU_UNIT_NAME` in it names this unit when `unitName` is not given.
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Replaces process spawning (the default runs the tools as child processes, never through a shell). */
  readonly spawn?: HookToolRunner;
  /**
   * This unit, e.g. `app/0`: lets reads of its own databags reflect this hook's writes
   * without asking Juju again. Without it, a write makes the next read of that relation's
   * own databags go back to Juju.
   */
  readonly unitName?: string;
  /**
   * How long an `is-leader` answer of `true` is reused, in milliseconds. Juju guarantees
   * leadership for about 30 seconds after it answers true (ops reuses it for as long).
   * @default 30000
   */
  readonly leadershipReuseMs?: number;
  /** Clock for leadership reuse. @default Date.now */
  readonly now?: () => number;
  /**
   * Answers `dispatch` read before Node started ({@link readDispatchPrefetch}): a read whose
   * exact invocation is among them uses the answer instead of starting the tool.
   */
  readonly prefetched?: PrefetchedAnswers | undefined;
  /**
   * Where to keep the workload version this unit last set, and under which charm code. Juju
   * applies `application-version-set` at once, whatever the hook's outcome, so a version equal
   * to the one recorded is already what `juju status` shows and is not sent again. A record
   * written under other charm code is not trusted: that code (another revision, another
   * library) may have set another version since. Without a record (or when it cannot be read)
   * every new value of a hook is sent.
   */
  readonly workloadVersionRecord?: WorkloadVersionRecord | undefined;
}

/** See {@link CreateHookToolsOptions.workloadVersionRecord}. */
export interface WorkloadVersionRecord {
  /** The record file. */
  readonly path: string;
  /** Changes whenever Juju deploys charm code, even the same revision again (`runCharm` uses the `dispatch` file's inode and modification time). */
  readonly codeIdentity: string;
}

const stringList = z.pipe(z.nullable(z.array(z.string())), z.transform((list) => list ?? []));
const databag = z.pipe(z.nullable(z.record(z.string(), z.string())), z.transform((bag) => bag ?? {}));
const anyMap = z.pipe(z.nullable(z.record(z.string(), z.unknown())), z.transform((map) => map ?? {}));
const goalEntry = z.looseObject({ status: z.string(), since: z.nullish(z.string()) });
const goalStateOutput = z.looseObject({
  units: z.nullish(z.record(z.string(), goalEntry)),
  relations: z.nullish(z.record(z.string(), z.nullish(z.record(z.string(), goalEntry)))),
});
const reportedStatus = z.enum(["active", "waiting", "maintenance", "blocked", "error", "unknown", "terminated"]);
const statusOutput = z.looseObject({ status: reportedStatus, message: z.nullish(z.string()) });
const applicationStatusOutput = z.looseObject({ "application-status": statusOutput });

/**
 * Builds the {@link HookTools} a charm uses on a real Juju unit: each call runs the hook
 * tool of the same name with an argument array (`--format=json` where the tool has it, `--`
 * before free text), reads its output through a schema, and turns failures into typed
 * errors ({@link classifyHookToolFailure}).
 *
 * One instance serves one hook: reads whose answer cannot change within a hook are run at
 * most once (config, relation membership and data, action parameters, unit state), and
 * reads of this unit's own databags and state include the writes it made in this hook.
 * `goal-state` and `status-get` are always asked afresh. A `status-set` (unit or application)
 * or `application-version-set` that repeats the value this hook set last is not sent again, nor
 * is one that repeats what the target showed when the hook started: the status `dispatch`
 * prefetched, the workload version recorded in `workloadVersionRecord`.
 */
export function createHookTools(options: CreateHookToolsOptions = {}): ProcessHookTools {
  return new ProcessTools(options);
}

type Changes = Readonly<Record<string, string | null>>;

class ProcessTools implements ProcessHookTools {
  readonly #run: HookToolRunner;
  readonly #unitName: string | undefined;
  readonly #appName: string | undefined;
  readonly #leadershipReuseMs: number;
  readonly #now: () => number;
  readonly #calls = new Map<string, number>();
  /** Promises, not values, so concurrent callers share one process. */
  readonly #memo = new Map<string, Promise<unknown>>();
  /** This hook's writes to own databags, keyed like the memo, applied over what Juju returns. */
  readonly #overlays = new Map<string, Map<string, string | null>>();
  readonly #stateOverlay = new Map<string, string | null>();
  /** The value this hook last set per target (unit status, app status, workload version). */
  readonly #lastSet = new Map<string, string>();
  /** Targets this hook tried to set: what they showed when the hook started no longer holds. */
  readonly #touched = new Set<string>();
  readonly #prefetched: PrefetchedAnswers | undefined;
  readonly #workloadVersionRecord: WorkloadVersionRecord | undefined;
  #leaderSince: number | undefined;
  #leaderRefused = false;

  constructor(options: CreateHookToolsOptions) {
    const spawn = options.spawn ?? createProcessRunner({ env: options.env });
    const counted: HookToolRunner = (invocation) => {
      this.#calls.set(invocation.tool, (this.#calls.get(invocation.tool) ?? 0) + 1);
      return spawn(invocation);
    };
    this.#run = options.prefetched === undefined ? counted : createPrefetchingRunner(options.prefetched, counted);
    this.#prefetched = options.prefetched;
    this.#workloadVersionRecord = options.workloadVersionRecord;
    const unitName = options.unitName ?? options.env?.["JUJU_UNIT_NAME"];
    this.#unitName = unitName === "" ? undefined : unitName;
    this.#appName = this.#unitName?.split("/")[0];
    this.#leadershipReuseMs = options.leadershipReuseMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  stats(): HookToolStats {
    return Object.fromEntries([...this.#calls].sort(([a], [b]) => a.localeCompare(b)));
  }

  async relationIds(endpoint: string): Promise<RelationId[]> {
    const ids = await this.#once(`relation-ids\0${endpoint}`, () =>
      this.#json("relation-ids", ["--format=json", "--", endpoint], stringList),
    );
    return [...ids];
  }

  async relationList(relation: RelationId): Promise<string[]> {
    const units = await this.#once(`relation-list\0${relation}`, () =>
      this.#json("relation-list", ["--format=json", "-r", relation], stringList),
    );
    return [...units];
  }

  relationListApp(relation: RelationId): Promise<string> {
    return this.#once(`relation-list-app\0${relation}`, () =>
      this.#json("relation-list", ["--format=json", "-r", relation, "--app"], z.string()),
    );
  }

  async relationGet(relation: RelationId, owner: DatabagOwner): Promise<Record<string, string>> {
    const key = databagKey(relation, owner);
    const stored = await this.#once(key, () =>
      "app" in owner
        ? this.#json("relation-get", ["--format=json", "-r", relation, "--app", "-", owner.app], databag)
        : this.#json("relation-get", ["--format=json", "-r", relation, "-", owner.unit], databag),
    );
    return applyChanges(stored, this.#overlays.get(key));
  }

  async relationSet(relation: RelationId, changes: Changes, options: { app?: boolean } = {}): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    const app = options.app === true;
    // Juju deletes a key set to the empty string; null is this interface's spelling of that.
    const settings = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v ?? ""]));
    await this.#plain("relation-set", ["-r", relation, ...(app ? ["--app"] : []), "--file", "-"], JSON.stringify(settings));

    const own = app ? this.#appName : this.#unitName;
    if (own === undefined) {
      // Without knowing who we are we cannot tell which cached databag is ours: ask Juju again.
      const prefix = `relation-get\0${relation}\0${app ? "app" : "unit"}\0`;
      for (const key of this.#memo.keys()) if (key.startsWith(prefix)) this.#memo.delete(key);
      return;
    }
    const key = databagKey(relation, app ? { app: own } : { unit: own });
    const overlay = this.#overlays.get(key) ?? new Map<string, string | null>();
    for (const [k, v] of Object.entries(settings)) overlay.set(k, v === "" ? null : v);
    this.#overlays.set(key, overlay);
  }

  async isLeader(): Promise<boolean> {
    // Juju keeps answering false for the rest of a hook once it has said false.
    if (this.#leaderRefused) return false;
    if (this.#leaderSince !== undefined && this.#now() - this.#leaderSince < this.#leadershipReuseMs) return true;
    const calledAt = this.#now();
    const exit = await this.#exit("is-leader", ["--format=json"]);
    const leader = parseJson("is-leader", exit.stdout, z.boolean());
    if (leader) this.#leaderSince = Math.min(calledAt, exit.askedAt ?? calledAt);
    else {
      this.#leaderRefused = true;
      this.#leaderSince = undefined;
    }
    return leader;
  }

  async configGet(): Promise<Record<string, unknown>> {
    const config = await this.#once("config-get", () => this.#json("config-get", ["--format=json"], anyMap));
    return structuredClone(config);
  }

  async goalState(): Promise<GoalState> {
    const raw = await this.#json("goal-state", ["--format=json"], goalStateOutput);
    const relations: Record<string, Record<string, { status: string; since?: string }>> = {};
    for (const [endpoint, members] of Object.entries(raw.relations ?? {})) relations[endpoint] = goalEntries(members ?? {});
    return { units: goalEntries(raw.units ?? {}), relations };
  }

  async statusSet(value: { status: SettableStatus; message: string }, options: { application?: boolean } = {}): Promise<void> {
    const application = options.application === true;
    await this.#setUnlessRepeated(
      application ? "status-set\0app" : "status-set\0unit",
      `${value.status}\0${value.message}`,
      () => this.#plain("status-set", [...(application ? ["--application"] : []), value.status, "--", value.message]),
      // Taken from the prefetch once and shared: it never rejects, so #once keeps it.
      () => this.#once(`status-at-start\0${application ? "app" : "unit"}`, () => this.#readPrefetchedStatus(application)),
    );
  }

  /** The status Juju showed when the hook started, as `status\0message`, when `dispatch` read it. */
  async #readPrefetchedStatus(application: boolean): Promise<string | undefined> {
    const exit = await this.#prefetched?.take({ tool: "status-get", args: statusGetArgs(application) });
    if (exit === undefined) return undefined;
    try {
      const shown = parseStatus(exit.stdout, application);
      return `${shown.status}\0${shown.message}`;
    } catch {
      // Not what status-get prints: nothing is known, so the status is set.
      return undefined;
    }
  }

  async statusGet(options: { application?: boolean } = {}): Promise<StatusValue> {
    const application = options.application === true;
    return parseStatus(await this.#plain("status-get", statusGetArgs(application)), application);
  }

  async applicationVersionSet(version: string): Promise<void> {
    const record = this.#workloadVersionRecord;
    await this.#setUnlessRepeated(
      "application-version-set",
      version,
      async () => {
        await this.#plain("application-version-set", ["--", version]);
        if (record !== undefined) writeRecord(record, version);
      },
      () => Promise.resolve(record === undefined ? undefined : readRecord(record)),
    );
  }

  /**
   * Runs `set` unless `target` already shows `value`: because this hook set exactly that last
   * (the library and the charm often set the same status in one event), or, before this hook
   * set it at all, because it showed that when the hook started (`shownAtStart`). Each set is a
   * process start, and in a steady state every event would repeat the last one. The record is
   * dropped before trying, so after a failed set the next one is always sent.
   */
  async #setUnlessRepeated(target: string, value: string, set: () => Promise<unknown>, shownAtStart: () => Promise<string | undefined>): Promise<void> {
    if (this.#lastSet.get(target) === value) return;
    if (!this.#touched.has(target) && (await shownAtStart()) === value && !this.#touched.has(target)) {
      this.#lastSet.set(target, value);
      return;
    }
    this.#touched.add(target);
    this.#lastSet.delete(target);
    await set();
    this.#lastSet.set(target, value);
  }

  async actionGet(): Promise<Record<string, unknown>> {
    const params = await this.#once("action-get", () => this.#json("action-get", ["--format=json"], anyMap));
    return structuredClone(params);
  }

  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    const keys = Object.keys(results);
    if (keys.length === 0) return;
    validateActionResultKeys(keys);
    await this.#plain("action-set", Object.entries(results).map(([k, v]) => `${k}=${v}`));
  }

  async actionFail(message: string): Promise<void> {
    await this.#plain("action-fail", ["--", message]);
  }

  async actionLog(message: string): Promise<void> {
    await this.#plain("action-log", ["--", message]);
  }

  async jujuLog(level: LogLevel, message: string): Promise<void> {
    await this.#plain("juju-log", ["--log-level", level, "--", message]);
  }

  async stateGet(): Promise<Record<string, string>> {
    const stored = await this.#once("state-get", () => this.#json("state-get", ["--format=json"], databag));
    return applyChanges(stored, this.#stateOverlay);
  }

  async stateSet(changes: Changes): Promise<void> {
    const sets = Object.entries(changes).filter((entry): entry is [string, string] => entry[1] !== null);
    const deletes = Object.keys(changes).filter((key) => changes[key] === null);
    // state-set stores an empty string as a value, so deleting takes state-delete, one key per call.
    if (sets.length > 0) await this.#plain("state-set", ["--file", "-"], JSON.stringify(Object.fromEntries(sets)));
    for (const [key, value] of sets) this.#stateOverlay.set(key, value);
    for (const key of deletes) {
      await this.#plain("state-delete", ["--", key]);
      this.#stateOverlay.set(key, null);
    }
  }

  resourceGet(name: string): Promise<string> {
    return this.#once(`resource-get\0${name}`, async () => {
      const path = (await this.#plain("resource-get", ["--", name])).trim();
      if (path === "") throw new HookToolOutputInvalid("resource-get", path, "expected a file path");
      return path;
    });
  }

  /** Runs `compute` once per key; a failure is forgotten so a later call can try again. */
  #once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const known = this.#memo.get(key);
    if (known !== undefined) return known as Promise<T>;
    const pending = compute();
    this.#memo.set(key, pending);
    pending.catch(() => {
      if (this.#memo.get(key) === pending) this.#memo.delete(key);
    });
    return pending;
  }

  async #json<S extends z.ZodMiniType>(tool: string, args: readonly string[], schema: S): Promise<z.output<S>> {
    return parseJson(tool, await this.#plain(tool, args), schema);
  }

  /** Runs the tool; resolves with its stdout when it exits 0, rejects with a classified error otherwise. */
  async #plain(tool: string, args: readonly string[], stdin?: string): Promise<string> {
    return (await this.#exit(tool, args, stdin)).stdout;
  }

  /** Runs the tool; resolves with how it exited when that was 0, rejects with a classified error otherwise. */
  async #exit(tool: string, args: readonly string[], stdin?: string): Promise<ToolExit> {
    let exit: ToolExit;
    try {
      exit = await this.#run(stdin === undefined ? { tool, args } : { tool, args, stdin });
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new UnknownHookTool(tool, error);
      throw new HookToolFailed(tool, undefined, error instanceof Error ? error.message : String(error), error);
    }
    if (exit.exitCode !== 0) {
      if (exit.exitCode === undefined) {
        throw new HookToolFailed(tool, undefined, `killed by signal ${exit.signal ?? "unknown"} ${exit.stderr}`.trim());
      }
      throw classifyHookToolFailure(tool, exit.exitCode, exit.stderr);
    }
    return exit;
  }
}

function statusGetArgs(application: boolean): string[] {
  return ["--format=json", "--include-data", ...(application ? ["--application"] : [])];
}

/** The unit's or (with `application`) the application's status from `status-get` output. */
function parseStatus(stdout: string, application: boolean): StatusValue {
  const shown = application ? parseJson("status-get", stdout, applicationStatusOutput)["application-status"] : parseJson("status-get", stdout, statusOutput);
  return { status: shown.status, message: shown.message ?? "" };
}

/** Parses a tool's `--format=json` output through `schema`, or says what was wrong with it. */
function parseJson<S extends z.ZodMiniType>(tool: string, stdout: string, schema: S): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new HookToolOutputInvalid(tool, stdout, "not JSON", error);
  }
  const result = z.safeParse(schema, parsed, englishIssues);
  if (!result.success) {
    throw new HookToolOutputInvalid(tool, stdout, z.prettifyError(result.error).replaceAll("\n", " "), result.error);
  }
  return result.data;
}

/** The recorded workload version, or undefined when there is no readable record written under this charm code. */
function readRecord(record: WorkloadVersionRecord): string | undefined {
  let text: string;
  try {
    text = readFileSync(record.path, "utf8");
  } catch {
    return undefined;
  }
  const newline = text.indexOf("\n");
  return newline >= 0 && text.slice(0, newline) === record.codeIdentity ? text.slice(newline + 1) : undefined;
}

/** Best effort: without the record the next hook sets the version again, which is harmless. */
function writeRecord(record: WorkloadVersionRecord, version: string): void {
  try {
    mkdirSync(dirname(record.path), { recursive: true });
    writeFileSync(record.path, `${record.codeIdentity}\n${version}`);
  } catch {
    // The charm directory is not writable: nothing is lost but a saved call.
  }
}

function databagKey(relation: RelationId, owner: DatabagOwner): string {
  return "app" in owner ? `relation-get\0${relation}\0app\0${owner.app}` : `relation-get\0${relation}\0unit\0${owner.unit}`;
}

/** A fresh copy of `stored` with this hook's writes applied (null deletes), so callers may mutate it. */
function applyChanges(stored: Readonly<Record<string, string>>, overlay: ReadonlyMap<string, string | null> | undefined): Record<string, string> {
  const result = { ...stored };
  for (const [key, value] of overlay ?? []) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}

function goalEntries(
  entries: Readonly<Record<string, { status: string; since?: string | null | undefined }>>,
): Record<string, { status: string; since?: string }> {
  const out: Record<string, { status: string; since?: string }> = {};
  for (const [name, entry] of Object.entries(entries)) {
    out[name] = entry.since === null || entry.since === undefined ? { status: entry.status } : { status: entry.status, since: entry.since };
  }
  return out;
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && (error as { code: unknown }).code === code;
}
