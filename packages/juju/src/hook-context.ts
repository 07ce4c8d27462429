import type { HookContext, JujuEvent } from "./context.js";
import { InvalidHookEnvironment } from "./errors.js";

/** `hooks/<name>` or `actions/<name>`; names never contain a slash or whitespace. */
const DISPATCH_PATH = /^(hooks|actions)\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/;
/** Application names: lowercase, digits and dashes, starting with a letter; units add `/<n>`. */
const UNIT_NAME = /^([a-z][a-z0-9-]*)\/(0|[1-9][0-9]*)$/;
const APP_NAME = /^[a-z][a-z0-9-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `3.6.4`, `3.6-beta2`, `2.9.42.1`. */
const JUJU_VERSION = /^\d+\.\d+(?:[.-][0-9A-Za-z.-]+)?$/;
/** `<endpoint>:<number>`; the endpoint may itself not contain a colon. */
const RELATION_ID = /^([a-z][a-z0-9-]*):(0|[1-9][0-9]*)$/;
const RELATION_HOOK = /^(.+)-relation-(created|joined|changed|departed|broken)$/;

/** The variables this parser turns into fields; everything else goes to `environment`. */
const CONSUMED = [
  "JUJU_DISPATCH_PATH",
  "JUJU_ACTION_UUID",
  "JUJU_UNIT_NAME",
  "JUJU_MODEL_NAME",
  "JUJU_MODEL_UUID",
  "JUJU_VERSION",
  "JUJU_CHARM_DIR",
  "JUJU_RELATION",
  "JUJU_RELATION_ID",
  "JUJU_REMOTE_UNIT",
  "JUJU_REMOTE_APP",
  "JUJU_DEPARTING_UNIT",
] as const;

/** Options of {@link parseHookContext}. */
export interface ParseHookContextOptions {
  /** Working directory, used as the charm directory when `JUJU_CHARM_DIR` is unset (Juju runs hooks there). */
  readonly cwd?: string;
}

/**
 * Reads the `JUJU_*` variables of one event into a {@link HookContext}, checking each one.
 *
 * Takes the environment as an argument (only `runCharm` passes `process.env`), so the
 * simulator can build contexts for many units in one process.
 *
 * @throws InvalidHookEnvironment naming the first missing or malformed variable.
 */
export function parseHookContext(
  env: Readonly<Record<string, string | undefined>>,
  options: ParseHookContextOptions = {},
): HookContext {
  const dispatchPath = required(env, "JUJU_DISPATCH_PATH");
  const dispatch = DISPATCH_PATH.exec(dispatchPath);
  if (dispatch === null) {
    throw new InvalidHookEnvironment(
      "JUJU_DISPATCH_PATH",
      `is ${JSON.stringify(dispatchPath)}, expected "hooks/<hook name>" or "actions/<action name>"`,
    );
  }
  const [, kind, eventName] = dispatch as unknown as [string, "hooks" | "actions", string];
  const event: JujuEvent =
    kind === "actions"
      ? { kind: "action", name: eventName, id: required(env, "JUJU_ACTION_UUID") }
      : { kind: "hook", name: eventName };

  const unitName = matching(env, "JUJU_UNIT_NAME", UNIT_NAME, 'a unit name such as "postgresql-k8s/2"');
  const [, appName = "", unitNumber = ""] = UNIT_NAME.exec(unitName) ?? [];
  const modelName = required(env, "JUJU_MODEL_NAME");
  const modelUuid = matching(env, "JUJU_MODEL_UUID", UUID, "a UUID");
  const jujuVersion = matching(env, "JUJU_VERSION", JUJU_VERSION, 'a Juju version such as "3.6.4"');

  const charmDir = nonEmpty(env, "JUJU_CHARM_DIR") ?? options.cwd;
  if (charmDir === undefined || charmDir === "") {
    throw new InvalidHookEnvironment("JUJU_CHARM_DIR", "is not set and no working directory was given");
  }

  const relationHook = event.kind === "hook" ? RELATION_HOOK.exec(event.name) : null;
  const relation = parseRelation(env, relationHook?.[1]);
  const hookKind = relationHook?.[2];

  const remoteUnit = optionalMatching(env, "JUJU_REMOTE_UNIT", UNIT_NAME, "a unit name");
  if (remoteUnit === undefined && (hookKind === "joined" || hookKind === "departed")) {
    throw new InvalidHookEnvironment("JUJU_REMOTE_UNIT", `is not set, but a -relation-${hookKind} hook is always about a unit`);
  }
  const remoteApp = optionalMatching(env, "JUJU_REMOTE_APP", APP_NAME, "an application name");
  if (remoteApp === undefined && relationHook !== null && hookKind !== "broken") {
    throw new InvalidHookEnvironment("JUJU_REMOTE_APP", "is not set, but Juju sets it for every relation hook");
  }
  const departingUnit = optionalMatching(env, "JUJU_DEPARTING_UNIT", UNIT_NAME, "a unit name");
  if (departingUnit === undefined && hookKind === "departed") {
    throw new InvalidHookEnvironment("JUJU_DEPARTING_UNIT", "is not set, but Juju sets it for every -relation-departed hook");
  }

  const consumed = new Set<string>(CONSUMED);
  const environment: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!consumed.has(key)) environment[key] = value;
  }

  return {
    event,
    unitName,
    appName,
    unitNumber: Number(unitNumber),
    modelName,
    modelUuid,
    jujuVersion,
    charmDir,
    relation,
    remoteUnit,
    remoteApp,
    departingUnit,
    environment,
  };
}

/** Relation variables come as a pair and must agree with each other and with the hook name. */
function parseRelation(
  env: Readonly<Record<string, string | undefined>>,
  hookEndpoint: string | undefined,
): HookContext["relation"] {
  const endpoint = nonEmpty(env, "JUJU_RELATION");
  const id = nonEmpty(env, "JUJU_RELATION_ID");
  if (endpoint === undefined && id === undefined) {
    if (hookEndpoint !== undefined) {
      throw new InvalidHookEnvironment("JUJU_RELATION", `is not set, but the hook is a relation hook of "${hookEndpoint}"`);
    }
    return undefined;
  }
  if (endpoint === undefined) {
    throw new InvalidHookEnvironment("JUJU_RELATION", "is not set, but JUJU_RELATION_ID is");
  }
  if (id === undefined) {
    throw new InvalidHookEnvironment("JUJU_RELATION_ID", "is not set, but JUJU_RELATION is");
  }
  const parsedId = RELATION_ID.exec(id);
  if (parsedId === null) {
    throw new InvalidHookEnvironment("JUJU_RELATION_ID", `is ${JSON.stringify(id)}, expected "<endpoint>:<number>"`);
  }
  if (parsedId[1] !== endpoint) {
    throw new InvalidHookEnvironment("JUJU_RELATION_ID", `is ${JSON.stringify(id)}, which is not a relation of endpoint "${endpoint}"`);
  }
  if (hookEndpoint !== undefined && hookEndpoint !== endpoint) {
    throw new InvalidHookEnvironment("JUJU_RELATION", `is "${endpoint}", but the hook is about endpoint "${hookEndpoint}"`);
  }
  return { endpoint, id };
}

/** The variable's value, unless it is unset or empty (Juju leaves some variables empty rather than unset). */
function nonEmpty(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value: unknown = env[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function required(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = nonEmpty(env, name);
  if (value === undefined) throw new InvalidHookEnvironment(name, "is not set");
  return value;
}

function matching(env: Readonly<Record<string, string | undefined>>, name: string, pattern: RegExp, expected: string): string {
  const value = optionalMatching(env, name, pattern, expected);
  if (value === undefined) throw new InvalidHookEnvironment(name, "is not set");
  return value;
}

/** Juju exports some variables as empty strings when they do not apply: treat those as unset. */
function optionalMatching(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  pattern: RegExp,
  expected: string,
): string | undefined {
  const value = nonEmpty(env, name);
  if (value !== undefined && !pattern.test(value)) {
    throw new InvalidHookEnvironment(name, `is ${JSON.stringify(value)}, expected ${expected}`);
  }
  return value;
}
