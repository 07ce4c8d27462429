import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { GoalState, HookContext, StatusValue } from "@refresh/juju";
import type { CharmRevision } from "./charm.js";
import { jujuCharmUrl, loadCharm, validateActionParams } from "./charm.js";
import { SimulatorError } from "./errors.js";
import { SimulatedHookTools, nestActionResults } from "./hook-tools.js";
import type { ActionOutcome, HookSpec, LogLine, UnitRecord } from "./world.js";
import { PEER_ENDPOINT, applyChanges, applyStateChanges, freshUniter } from "./world.js";

/**
 * One unit's view of the model, before or after an event (in the spirit of ops-scenario's
 * `State`). Everything is optional; the defaults describe a started, non-leader unit `<app>/0`
 * alone in its peer relation.
 */
export interface UnitState {
  /** @default "<app>/0" */
  readonly unit?: string;
  /** @default false */
  readonly leader?: boolean;
  /** Values set with `juju config` (defaults come from the charm). */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /** The unit has entered the peer relation (`relation-created` ran). @default true */
  readonly inRelation?: boolean;
  /** This unit's peer databag. */
  readonly unitData?: Readonly<Record<string, string>>;
  /** The peer app databag. */
  readonly appData?: Readonly<Record<string, string>>;
  /** Peers that have joined, with their databags as this unit sees them. */
  readonly peers?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** `state-get` store. */
  readonly stored?: Readonly<Record<string, string>>;
  readonly unitStatus?: StatusValue;
  readonly appStatus?: StatusValue;
  readonly workloadVersion?: string;
  /** Units of `goal-state` with their goal status; defaults to this unit and its peers, all `active`. */
  readonly plannedUnits?: Readonly<Record<string, string>>;
}

/** The event to run: a hook (with its relation details) or an action. */
export type UnitEvent =
  | { readonly hook: string; readonly remoteUnit?: string; readonly departingUnit?: string }
  | { readonly action: string; readonly params?: Readonly<Record<string, unknown>> };

/** What {@link runEvent} returns. */
export interface EventResult {
  /** The state after the event: buffered writes committed only when the event succeeded. */
  readonly state: UnitState;
  /** The error the charm threw, when the hook failed. */
  readonly error: unknown;
  readonly logs: readonly LogLine[];
  /** For actions: results, failure and logs. */
  readonly action: ActionOutcome | undefined;
  /** Hook-tool calls, by tool name. */
  readonly toolCalls: Readonly<Record<string, number>>;
}

/**
 * Runs one event on one unit in process, with the simulator's hook tools, and returns the
 * new state. Fast and single-unit, for unit tests of a charm's handler; use
 * {@link createSimulator} for anything involving several units or time.
 */
export async function runEvent(options: { charm: CharmRevision; event: UnitEvent; state?: UnitState; appName?: string }): Promise<EventResult> {
  const charm = await loadCharm(options.charm);
  const handler = options.charm.handler;
  if (handler === undefined) throw new SimulatorError("CHARM_WITHOUT_HANDLER", "runEvent runs in-process handlers only; give the charm revision a handler");
  const appName = options.appName ?? charm.metadata.name ?? "app";
  const input = options.state ?? {};
  const unitName = input.unit ?? `${appName}/0`;
  const baseDir = await mkdtemp(join(tmpdir(), "refresh-event-"));
  try {
    const unit: UnitRecord = {
      name: unitName,
      number: Number(unitName.split("/")[1] ?? 0),
      life: "alive",
      charm,
      charmDir: join(baseDir, "charm"),
      status: input.unitStatus ?? { status: "unknown", message: "" },
      agentError: undefined,
      workloadVersion: input.workloadVersion ?? "",
      stateStore: { ...(input.stored ?? {}) },
      uniter: { ...freshUniter(), inRelation: input.inRelation ?? true, started: true },
      transition: undefined,
      incarnation: 0,
    };
    // Library code reads the charm's own files (refresh_versions.toml, metadata.yaml, .juju-charm).
    for (const [path, content] of Object.entries(charm.files)) {
      const target = join(unit.charmDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    await mkdir(unit.charmDir, { recursive: true });
    await writeFile(join(unit.charmDir, ".juju-charm"), `${jujuCharmUrl(appName, options.charm.revision, "charmhub")}\n`);
    const peers = input.peers ?? {};
    const spec: HookSpec =
      "action" in options.event
        ? { kind: "action", name: options.event.action, id: "1", params: actionParams(charm.metadata.actions, options.event.action, options.event.params ?? {}) }
        : {
            kind: "hook",
            name: options.event.hook,
            ...(options.event.hook.startsWith(`${PEER_ENDPOINT}-relation-`) ? { relation: true as const } : {}),
            ...(options.event.remoteUnit === undefined ? {} : { remoteUnit: options.event.remoteUnit }),
            ...(options.event.departingUnit === undefined ? {} : { departingUnit: options.event.departingUnit }),
          };
    let appStatus = input.appStatus ?? { status: "unknown", message: "" };
    const logs: LogLine[] = [];
    const unitBag = { data: { ...(input.unitData ?? {}) }, version: 0 };
    const appBag = { data: { ...(input.appData ?? {}) }, version: 0 };
    const goal: GoalState = {
      units: Object.fromEntries(Object.entries(input.plannedUnits ?? Object.fromEntries([unitName, ...Object.keys(peers)].map((u) => [u, "active"]))).map(([u, s]) => [u, { status: s }])),
      relations: { [PEER_ENDPOINT]: Object.fromEntries([appName, ...Object.keys(peers)].map((u) => [u, { status: "joined" }])) },
    };
    const defaults = Object.fromEntries(Object.entries(charm.metadata.config).filter(([, o]) => o.default !== undefined).map(([k, o]) => [k, o.default]));
    const tools = new SimulatedHookTools(
      {
        appName,
        relationNumber: 0,
        staleRemoteReads: false,
        leader: () => (input.leader === true ? unitName : undefined),
        config: () => ({ ...defaults, ...(input.config ?? {}) }),
        goalState: () => goal,
        unitDatabag: (name) => (name === unitName ? unitBag : peers[name] === undefined ? undefined : { data: { ...peers[name] }, version: 0 }),
        appDatabag: () => appBag,
        appStatus: () => appStatus,
        setAppStatus: (value) => {
          appStatus = value;
        },
        setUnitStatus: (target, value) => {
          target.status = value;
        },
        setWorkloadVersion: (target, version) => {
          target.workloadVersion = version;
        },
        log: (_target, level, message) => logs.push({ step: 1, unit: unitName, hook: spec.name, level, message }),
        resourcePath: () => undefined,
        yieldPoint: async () => {},
      },
      unit,
      spec,
      Object.keys(peers).filter((peer) => !(spec.kind === "hook" && spec.name.endsWith("-relation-departed") && spec.remoteUnit === peer)),
    );
    const context: HookContext = {
      event: spec.kind === "action" ? { kind: "action", name: spec.name, id: spec.id } : { kind: "hook", name: spec.name },
      unitName,
      appName,
      unitNumber: unit.number,
      modelName: "test-model",
      modelUuid: "00000000-0000-4000-8000-000000000000",
      jujuVersion: "3.6.4",
      charmDir: unit.charmDir,
      relation: spec.kind === "hook" && spec.relation === true ? { endpoint: PEER_ENDPOINT, id: `${PEER_ENDPOINT}:0` } : undefined,
      remoteUnit: spec.kind === "hook" ? spec.remoteUnit : undefined,
      remoteApp: spec.kind === "hook" && spec.relation === true ? appName : undefined,
      departingUnit: spec.kind === "hook" ? spec.departingUnit : undefined,
      environment: {},
    };
    const write = (level: string) => (message: string) => logs.push({ step: 1, unit: unitName, hook: spec.name, level, message });
    let error: unknown;
    try {
      await handler({ context, tools, log: { debug: write("DEBUG"), info: write("INFO"), warning: write("WARNING"), error: write("ERROR") } });
    } catch (thrown) {
      error = thrown;
    }
    const ok = error === undefined;
    const unitData = { ...unitBag.data };
    const appData = { ...appBag.data };
    const stored = { ...unit.stateStore };
    if (ok) {
      applyChanges(unitData, tools.buffers.unitChanges);
      applyChanges(appData, tools.buffers.appChanges);
      applyStateChanges(stored, tools.buffers.stateChanges);
    }
    const failure = tools.buffers.actionFailure ?? (ok ? undefined : String(error));
    return {
      state: { ...input, unit: unitName, unitData, appData, stored, unitStatus: unit.status, appStatus, workloadVersion: unit.workloadVersion },
      error,
      logs,
      toolCalls: Object.fromEntries(tools.calls),
      action:
        spec.kind === "action"
          ? { id: spec.id, unit: unitName, name: spec.name, status: failure === undefined ? "completed" : "failed", results: nestActionResults(tools.buffers.actionResults), message: failure, logs: [...tools.buffers.actionLogs] }
          : undefined,
    };
  } finally {
    await rm(baseDir, { recursive: true, force: true });
  }
}

function actionParams(actions: UnitRecord["charm"]["metadata"]["actions"], name: string, params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const spec = actions[name];
  if (spec === undefined) throw new SimulatorError("ACTION_NOT_DEFINED", `action "${name}" is not defined by the charm; defined: ${Object.keys(actions).join(", ") || "none"}`);
  const checked = validateActionParams(name, spec, params);
  if (!checked.ok) throw new SimulatorError("ACTION_PARAMS_INVALID", `invalid parameters for action "${name}": ${checked.problems.join("; ")}`);
  return checked.params;
}
