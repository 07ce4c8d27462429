import { readFile } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { isMap, isScalar, parseDocument } from "yaml";
import type { DatabagOwner, HookTools, LogLevel, RelationId, SettableStatus, StatusValue } from "@refresh/juju";
import { type FlagSpec, type ParsedCommandLine, UsageError, parseCommandLine, rejectExtraArgs } from "./flags.js";
import { type OutputFormat, formatOutput, parseOutputFormat } from "./output.js";
import type { HookToolRequest, HookToolResponse } from "./protocol.js";

/**
 * What the hook knows beyond its tools, needed to read arguments the way Juju does: which
 * relations `-r` may name, and the defaults of a relation hook (`-r` defaults to the hook's
 * relation, `relation-get` to the remote unit).
 */
export interface HookToolScope {
  /**
   * Every relation in this hook's context. When given, `-r` is checked against it and a bare
   * number (`-r 3`) is resolved to its `endpoint:3`; when absent, only `endpoint:N` forms
   * (and the hook's own relation) can be resolved and the tools judge whether they exist.
   */
  readonly relations?: readonly RelationId[] | undefined;
  /** `JUJU_RELATION_ID` of a relation hook. */
  readonly relation?: RelationId | undefined;
  /** `JUJU_REMOTE_UNIT` of a relation hook (empty or absent for application-data changes). */
  readonly remoteUnit?: string | undefined;
  /** `JUJU_REMOTE_APP` of a relation hook. */
  readonly remoteApp?: string | undefined;
}

/** An error raised while a tool runs (after its arguments were accepted): exit status 1. */
class RunError extends Error {
  readonly exitCode = 1;
}

/** Every hook tool the simulator answers, i.e. the names the bin directory links. */
export const HOOK_TOOL_NAMES = [
  "relation-ids",
  "relation-list",
  "relation-get",
  "relation-set",
  "is-leader",
  "config-get",
  "goal-state",
  "status-set",
  "status-get",
  "application-version-set",
  "action-get",
  "action-set",
  "action-fail",
  "action-log",
  "juju-log",
  "state-get",
  "state-set",
  "state-delete",
  "resource-get",
] as const;

/** The name of a hook tool the simulator answers. */
export type HookToolName = (typeof HOOK_TOOL_NAMES)[number];

const FORMAT: FlagSpec = { names: ["format"], kind: "value" };
const RELATION: FlagSpec = { names: ["r", "relation"], kind: "value" };
const APP: FlagSpec = { names: ["app"], kind: "bool" };
const APPLICATION: FlagSpec = { names: ["application"], kind: "bool" };
const FILE: FlagSpec = { names: ["file"], kind: "value" };

const SETTABLE_STATUSES: readonly SettableStatus[] = ["maintenance", "blocked", "waiting", "active"];
const LOG_LEVELS: readonly LogLevel[] = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const RESERVED_ACTION_KEYS = new Set(["stdout", "stdout-encoding", "stderr", "stderr-encoding"]);
const ACTION_KEY_SEGMENT = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const UNIT_NAME = /^[a-z][a-z0-9-]*\/\d+$/;
const APP_NAME = /^[a-z][a-z0-9-]*$/;

interface Invocation {
  readonly request: HookToolRequest;
  readonly tools: HookTools;
  readonly scope: HookToolScope;
}

type Handler = (invocation: Invocation) => Promise<string>;

function parse(invocation: Invocation, specs: readonly FlagSpec[]): ParsedCommandLine {
  return parseCommandLine(invocation.request.args, specs);
}

function flagString(parsed: ParsedCommandLine, key: string): string | undefined {
  const flag = parsed.flags.get(key);
  return flag === undefined ? undefined : String(flag.value);
}

function flagBool(parsed: ParsedCommandLine, key: string): boolean {
  return parsed.flags.get(key)?.value === true;
}

function outputFormat(parsed: ParsedCommandLine): OutputFormat {
  return parseOutputFormat(flagString(parsed, "format"), parsed.flags.get("format")?.spelled);
}

function relationNumber(relation: RelationId): string {
  return relation.slice(relation.lastIndexOf(":") + 1);
}

function relationEndpoint(relation: RelationId): string {
  const colon = relation.lastIndexOf(":");
  return colon === -1 ? "" : relation.slice(0, colon);
}

/** `-r`/`--relation`: `N` or `endpoint:N`, defaulting to the hook's own relation. */
function resolveRelation(parsed: ParsedCommandLine, scope: HookToolScope): RelationId {
  const flag = parsed.flags.get("r");
  if (flag === undefined) {
    if (scope.relation !== undefined && scope.relation !== "") return scope.relation;
    throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no relation id specified");
  }
  const text = String(flag.value);
  const colon = text.lastIndexOf(":");
  const endpoint = colon === -1 ? undefined : text.slice(0, colon);
  const number = text.slice(colon + 1);
  if (!/^\d+$/.test(number)) {
    throw new UsageError("HOOK_TOOL_INVALID_FLAG_VALUE", `invalid value ${JSON.stringify(text)} for flag ${flag.spelled}: invalid relation id`);
  }
  const canonical = String(Number(number));
  const known = scope.relations ?? (scope.relation === undefined ? [] : [scope.relation]);
  const match = known.find(
    (relation) => relationNumber(relation) === canonical && (endpoint === undefined || relationEndpoint(relation) === endpoint),
  );
  if (match !== undefined) return match;
  if (scope.relations === undefined && endpoint !== undefined && endpoint !== "") return `${endpoint}:${canonical}`;
  throw new UsageError("HOOK_TOOL_INVALID_FLAG_VALUE", `invalid value ${JSON.stringify(text)} for flag ${flag.spelled}: relation not found`);
}

/**
 * How a tool treats an empty value: `relation-set` deletes the key; `state-set` stores the
 * empty string (deleting takes `state-delete`).
 */
type EmptyValue = "deletes" | "is-stored";

/** `key=value` arguments of `relation-set`/`state-set`. */
function keyValueArgs(args: readonly string[], empty: EmptyValue): Map<string, string | null> {
  const settings = new Map<string, string | null>();
  for (const arg of args) {
    const equals = arg.indexOf("=");
    if (equals <= 0) throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `expected "key=value", got ${JSON.stringify(arg)}`);
    const key = arg.slice(0, equals);
    if (settings.has(key)) throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `duplicate key specified: ${JSON.stringify(key)}`);
    const value = arg.slice(equals + 1);
    settings.set(key, value === "" && empty === "deletes" ? null : value);
  }
  return settings;
}

/**
 * The `--file` map of `relation-set`/`state-set` (YAML, so JSON too). Values are strings; a
 * YAML null counts as an empty string; other scalars keep their source text, as Go's YAML
 * decoder does when it fills a map of strings.
 */
async function settingsFile(path: string, request: HookToolRequest, empty: EmptyValue): Promise<Map<string, string | null>> {
  let text: string;
  if (path === "-") {
    text = (request.stdin ?? Buffer.alloc(0)).toString("utf8");
  } else {
    try {
      text = await readFile(resolvePath(request.cwd, path), "utf8");
    } catch (error) {
      throw new RunError(`cannot read settings file ${JSON.stringify(path)}: ${(error as Error).message}`);
    }
  }
  const document = parseDocument(text);
  const firstError = document.errors[0];
  if (firstError !== undefined) throw new RunError(`cannot parse settings file: ${firstError.message}`);
  const settings = new Map<string, string | null>();
  const contents = document.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return settings;
  if (!isMap(contents)) throw new RunError("cannot parse settings file: expected a map of keys to string values");
  const emptyValue = empty === "deletes" ? null : "";
  for (const item of contents.items) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    const value = item.value;
    if (value === null || value === undefined) {
      settings.set(key, emptyValue);
    } else if (isScalar(value)) {
      if (value.value === null || value.value === "") settings.set(key, emptyValue);
      else if (typeof value.value === "string") settings.set(key, value.value);
      else settings.set(key, value.source ?? String(value.value));
    } else {
      throw new RunError(`cannot parse settings file: the value of ${JSON.stringify(key)} must be a string`);
    }
  }
  return settings;
}

/** Settings from `--file` and from `key=value` arguments; arguments win over the file. */
async function readSettings(
  parsed: ParsedCommandLine,
  request: HookToolRequest,
  empty: EmptyValue,
): Promise<Record<string, string | null>> {
  const fromArgs = keyValueArgs(parsed.positionals, empty);
  const file = flagString(parsed, "file");
  const merged = file === undefined ? new Map<string, string | null>() : await settingsFile(file, request, empty);
  for (const [key, value] of fromArgs) merged.set(key, value);
  return Object.fromEntries(merged);
}

function lookupDotted(source: unknown, dottedKey: string): unknown {
  let current: unknown = source;
  for (const segment of dottedKey.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return null;
    current = Object.prototype.hasOwnProperty.call(current, segment) ? (current as Record<string, unknown>)[segment] : null;
  }
  return current ?? null;
}

/** The databag `relation-get` addresses: `[key] [target]`, defaulting to the remote unit. */
function relationGetOwner(target: string | undefined, app: boolean, scope: HookToolScope): DatabagOwner {
  let name = target;
  if (name === undefined) {
    const remoteUnit = scope.remoteUnit === "" ? undefined : scope.remoteUnit;
    name = app ? (scope.remoteApp === "" ? undefined : scope.remoteApp) ?? remoteUnit : remoteUnit;
    if (name === undefined) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no unit or application specified");
  }
  if (UNIT_NAME.test(name)) return app ? { app: name.slice(0, name.indexOf("/")) } : { unit: name };
  if (APP_NAME.test(name)) {
    if (!app) throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `expected unit name, got application name ${JSON.stringify(name)}`);
    return { app: name };
  }
  throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `invalid unit or application name ${JSON.stringify(name)}`);
}

const handlers: Record<HookToolName, Handler> = {
  async "relation-ids"(invocation) {
    const parsed = parse(invocation, [FORMAT]);
    const [endpointArg, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    const current = invocation.scope.relation;
    const endpoint = endpointArg ?? (current === undefined || current === "" ? undefined : relationEndpoint(current));
    if (endpoint === undefined) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no endpoint name specified");
    return formatOutput(await invocation.tools.relationIds(endpoint), outputFormat(parsed));
  },

  async "relation-list"(invocation) {
    const parsed = parse(invocation, [FORMAT, RELATION, APP]);
    rejectExtraArgs(parsed.positionals);
    const relation = resolveRelation(parsed, invocation.scope);
    const format = outputFormat(parsed);
    if (flagBool(parsed, "app")) return formatOutput(await invocation.tools.relationListApp(relation), format);
    return formatOutput(await invocation.tools.relationList(relation), format);
  },

  async "relation-get"(invocation) {
    const parsed = parse(invocation, [FORMAT, RELATION, APP]);
    const [keyArg, target, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    const relation = resolveRelation(parsed, invocation.scope);
    const owner = relationGetOwner(target, flagBool(parsed, "app"), invocation.scope);
    const format = outputFormat(parsed);
    const databag = await invocation.tools.relationGet(relation, owner);
    if (keyArg === undefined || keyArg === "-") return formatOutput(databag, format);
    return formatOutput(Object.prototype.hasOwnProperty.call(databag, keyArg) ? databag[keyArg] : null, format);
  },

  async "relation-set"(invocation) {
    // --format is still accepted (and ignored) for old charms, as Juju does.
    const parsed = parse(invocation, [FORMAT, RELATION, APP, FILE]);
    const relation = resolveRelation(parsed, invocation.scope);
    const changes = await readSettings(parsed, invocation.request, "deletes");
    await invocation.tools.relationSet(relation, changes, { app: flagBool(parsed, "app") });
    return "";
  },

  async "is-leader"(invocation) {
    const parsed = parse(invocation, [FORMAT]);
    rejectExtraArgs(parsed.positionals);
    return formatOutput(await invocation.tools.isLeader(), outputFormat(parsed));
  },

  async "config-get"(invocation) {
    const parsed = parse(invocation, [FORMAT, { names: ["all", "a"], kind: "bool" }]);
    const [key, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    const format = outputFormat(parsed);
    const config = await invocation.tools.configGet();
    if (key === undefined) return formatOutput(config, format);
    return formatOutput(Object.prototype.hasOwnProperty.call(config, key) ? config[key] : null, format);
  },

  async "goal-state"(invocation) {
    const parsed = parse(invocation, [FORMAT]);
    rejectExtraArgs(parsed.positionals);
    return formatOutput(await invocation.tools.goalState(), outputFormat(parsed));
  },

  async "status-set"(invocation) {
    const parsed = parse(invocation, [APPLICATION]);
    const [status, message, ...extra] = parsed.positionals;
    if (status === undefined) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "invalid args, require <status> [message]");
    if (!(SETTABLE_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `invalid status ${JSON.stringify(status)}, expected one of [${SETTABLE_STATUSES.join(" ")}]`);
    }
    rejectExtraArgs(extra);
    await invocation.tools.statusSet(
      { status: status as SettableStatus, message: message ?? "" },
      { application: flagBool(parsed, "application") },
    );
    return "";
  },

  async "status-get"(invocation) {
    const parsed = parse(invocation, [FORMAT, APPLICATION, { names: ["include-data"], kind: "bool" }]);
    const [key, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    const format = outputFormat(parsed);
    if (flagBool(parsed, "application")) {
      const status = await invocation.tools.statusGet({ application: true });
      // The HookTools contract has no per-unit statuses; the simulator's tools add them.
      const units: Record<string, { status: string; message: string; "status-data": Record<string, never> }> = {};
      if (hasUnitStatuses(invocation.tools)) {
        for (const [unit, value] of Object.entries(invocation.tools.applicationUnitStatuses())) {
          units[unit] = { status: value.status, message: value.message, "status-data": {} };
        }
      }
      return formatOutput({ "application-status": { status: status.status, message: status.message, "status-data": {}, units } }, format);
    }
    const status = await invocation.tools.statusGet({ application: false });
    const full = { status: status.status, message: status.message, "status-data": {} };
    if (key !== undefined) return formatOutput(lookupDotted(full, key), format);
    return formatOutput(flagBool(parsed, "include-data") ? full : status.status, format);
  },

  async "application-version-set"(invocation) {
    const parsed = parse(invocation, []);
    const [version, ...extra] = parsed.positionals;
    if (version === undefined) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no version specified");
    rejectExtraArgs(extra);
    await invocation.tools.applicationVersionSet(version);
    return "";
  },

  async "action-get"(invocation) {
    const parsed = parse(invocation, [FORMAT]);
    const [key, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    const params = await invocation.tools.actionGet();
    return formatOutput(key === undefined ? params : lookupDotted(params, key), outputFormat(parsed));
  },

  async "action-set"(invocation) {
    const parsed = parse(invocation, []);
    if (parsed.positionals.length === 0) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no action results specified");
    const results: Record<string, string> = {};
    for (const arg of parsed.positionals) {
      const equals = arg.indexOf("=");
      if (equals === -1) throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `argument ${JSON.stringify(arg)} must be of the form key...=value`);
      const key = arg.slice(0, equals);
      const segments = key.split(".");
      for (const segment of segments) {
        if (!ACTION_KEY_SEGMENT.test(segment)) {
          throw new UsageError(
            "HOOK_TOOL_INVALID_ARGUMENT",
            `key ${JSON.stringify(segment)} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens`,
          );
        }
      }
      if (RESERVED_ACTION_KEYS.has(segments[0] as string)) {
        throw new UsageError("HOOK_TOOL_INVALID_ARGUMENT", `cannot set reserved action key ${JSON.stringify(segments[0])}`);
      }
      results[key] = arg.slice(equals + 1);
    }
    await invocation.tools.actionSet(results);
    return "";
  },

  async "action-fail"(invocation) {
    const parsed = parse(invocation, []);
    const [message, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    await invocation.tools.actionFail(message ?? "action failed without reason given, check action for errors");
    return "";
  },

  async "action-log"(invocation) {
    const parsed = parse(invocation, []);
    if (parsed.positionals.length === 0) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no message specified");
    await invocation.tools.actionLog(parsed.positionals.join(" "));
    return "";
  },

  async "juju-log"(invocation) {
    const parsed = parse(invocation, [
      { names: ["log-level", "l"], kind: "value" },
      { names: ["debug"], kind: "bool" },
      FORMAT,
    ]);
    if (parsed.positionals.length === 0) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no message specified");
    const requested = flagString(parsed, "log-level")?.toUpperCase();
    let level: LogLevel = flagBool(parsed, "debug") ? "DEBUG" : "INFO";
    if (requested !== undefined) {
      const normalized = requested === "WARN" ? "WARNING" : requested;
      // Juju logs an unknown level at INFO rather than failing the hook.
      level = (LOG_LEVELS as readonly string[]).includes(normalized) ? (normalized as LogLevel) : "INFO";
    }
    await invocation.tools.jujuLog(level, parsed.positionals.join(" "));
    return "";
  },

  async "state-get"(invocation) {
    const parsed = parse(invocation, [FORMAT, { names: ["strict"], kind: "bool" }]);
    const [key, ...extra] = parsed.positionals;
    rejectExtraArgs(extra);
    const format = outputFormat(parsed);
    const state = await invocation.tools.stateGet();
    if (key === undefined) return formatOutput(Object.keys(state).length === 0 ? null : state, format);
    if (Object.prototype.hasOwnProperty.call(state, key)) return formatOutput(state[key], format);
    if (flagBool(parsed, "strict")) throw new RunError(`key ${JSON.stringify(key)} not found`);
    return formatOutput(null, format);
  },

  async "state-set"(invocation) {
    const parsed = parse(invocation, [FILE]);
    await invocation.tools.stateSet(await readSettings(parsed, invocation.request, "is-stored"));
    return "";
  },

  async "state-delete"(invocation) {
    const parsed = parse(invocation, []);
    const [key, ...extra] = parsed.positionals;
    if (key === undefined) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "no key specified");
    rejectExtraArgs(extra);
    await invocation.tools.stateSet({ [key]: null });
    return "";
  },

  async "resource-get"(invocation) {
    const parsed = parse(invocation, []);
    const [name, ...extra] = parsed.positionals;
    if (name === undefined) throw new UsageError("HOOK_TOOL_MISSING_ARGUMENT", "missing required resource name");
    rejectExtraArgs(extra);
    return formatOutput(await invocation.tools.resourceGet(name), "smart");
  },
};

/** Whether `name` is a tool the simulator answers. */
export function isHookToolName(name: string): name is HookToolName {
  return Object.prototype.hasOwnProperty.call(handlers, name);
}

/**
 * The exit status a failure maps to: 2 for argument errors, 1 for errors while running.
 * A `HookTools` implementation may throw an error carrying `exitCode: 2` for failures Juju
 * reports at argument time (for example a relation that is not in the hook's context), as
 * `HookToolError` from `@refresh/juju` does.
 */
function exitCodeOf(error: unknown): number {
  const code = (error as { exitCode?: unknown } | null)?.exitCode;
  return code === 2 ? 2 : 1;
}

/**
 * The line to print after `ERROR `. An error that carries Juju's own wording in `stderr`
 * (`HookToolError` from `@refresh/juju`) is printed with that wording, not with its
 * explanatory message, so the charm's client classifies it exactly as on Juju.
 */
function messageOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown } | null)?.stderr;
  if (typeof stderr === "string" && stderr.trim() !== "") return stderr.trim().replace(/^ERROR /, "");
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one hook-tool invocation against `tools`: parses the arguments like Juju, calls the
 * matching `HookTools` method and renders the answer. Never throws: every failure becomes
 * `ERROR <message>` on stderr with Juju's exit status, so a bad call fails only that call.
 */
export async function executeHookTool(request: HookToolRequest, tools: HookTools, scope: HookToolScope = {}): Promise<HookToolResponse> {
  if (!isHookToolName(request.tool)) {
    return {
      exitCode: 1,
      stdout: "",
      stderr: `ERROR ${JSON.stringify(request.tool)} is not a hook tool the simulator provides (known: ${HOOK_TOOL_NAMES.join(", ")})\n`,
    };
  }
  try {
    const stdout = await handlers[request.tool]({ request, tools, scope });
    return { exitCode: 0, stdout, stderr: "" };
  } catch (error) {
    return { exitCode: exitCodeOf(error), stdout: "", stderr: `ERROR ${messageOf(error)}\n` };
  }
}

/**
 * Hook tools that can also report the statuses of the application's units, as Juju's
 * `status-get --application` does (the simulator's tools can; the HookTools contract cannot).
 */
export interface UnitStatusesSource {
  /** Every unit's status, by unit name; asked only after the leader check of `statusGet`. */
  applicationUnitStatuses(): Readonly<Record<string, StatusValue>>;
}

function hasUnitStatuses(tools: HookTools): tools is HookTools & UnitStatusesSource {
  return typeof (tools as Partial<UnitStatusesSource>).applicationUnitStatuses === "function";
}
