import type {
  DatabagOwner,
  GoalState,
  HookTools,
  LogLevel,
  RelationId,
  SettableStatus,
  StatusValue,
} from "@refresh/juju";
import { InvalidActionResultKey, classifyHookToolFailure } from "@refresh/juju";
import type { Databag, HookSpec, UnitRecord } from "./world.js";
import { PEER_ENDPOINT, applyChanges, applyStateChanges, isSettableStatus } from "./world.js";

/**
 * What a running hook needs from the simulated controller and agent. The simulator implements
 * it; the hook tools below hold only the hook's own buffers and caches.
 */
export interface HookHost {
  readonly appName: string;
  /** The number in `refresh-v-three:<n>`. */
  readonly relationNumber: number;
  /** Serve remote-unit reads from the agent's cache (Juju's behaviour) or always fresh. */
  readonly staleRemoteReads: boolean;
  /** The model's current leader, or undefined between leaders. */
  leader(): string | undefined;
  /** Effective config for a unit (defaults merged with values set for its charm revision). */
  config(unit: UnitRecord): Record<string, unknown>;
  goalState(): GoalState;
  /** Committed databag of a unit in the peer relation, if it ever entered it. */
  unitDatabag(unit: string): Databag | undefined;
  appDatabag(): Databag;
  appStatus(): StatusValue;
  setAppStatus(value: StatusValue): void;
  setUnitStatus(unit: UnitRecord, value: StatusValue): void;
  setWorkloadVersion(unit: UnitRecord, version: string): void;
  log(unit: UnitRecord, level: string, message: string): void;
  /** Path of a file resource attached to the application, written where the unit can read it; undefined when none is. */
  resourcePath(unit: UnitRecord, name: string): string | undefined | Promise<string | undefined>;
  /** Every unit's status, for `status-get --application` (none when not given). */
  unitStatuses?(): Readonly<Record<string, StatusValue>>;
  /** Called before every tool call: where the scheduler interleaves units. */
  yieldPoint(): Promise<void>;
}

/** Everything a hook leaves behind for the commit (or the discard) when it exits. */
export interface HookBuffers {
  readonly unitChanges: Record<string, string | null>;
  readonly appChanges: Record<string, string | null>;
  readonly stateChanges: Record<string, string | null>;
  readonly actionResults: Record<string, string>;
  actionFailure: string | undefined;
  readonly actionLogs: string[];
}

/**
 * Raised by every tool call of a hook the simulator has killed (fault injection or timeout).
 * Code: `HOOK_KILLED`.
 *
 * Deliberately not a `RefreshError`: it stands in for a killed process, which nothing can
 * catch, and charms and the library handle `RefreshError`s (turning them into statuses or
 * action failures), which would let a charm "survive" its own death in a test.
 */
export class HookKilledError extends Error {
  /** Stable identifier of this error. */
  readonly code = "HOOK_KILLED";

  constructor(readonly reason: string) {
    super(`the simulator killed this hook: ${reason}; let this error propagate, no later hook-tool call of this hook can succeed`);
    this.name = "HookKilledError";
  }
}

const ACTION_KEY = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const RESERVED_ACTION_KEYS = new Set(["stdout", "stdout-encoding", "stderr", "stderr-encoding"]);

/**
 * The simulator's `HookTools` for one hook on one unit, with Juju's rules: relation and state
 * writes are buffered until the hook exits 0; statuses, versions and logs apply at once; remote
 * units' data comes from the agent's cache; only the leader writes the app databag.
 */
export class SimulatedHookTools implements HookTools {
  /** Tool calls made by this hook, by tool name (e.g. `relation-get`). */
  readonly calls = new Map<string, number>();
  readonly buffers: HookBuffers = {
    unitChanges: {},
    appChanges: {},
    stateChanges: {},
    actionResults: {},
    actionFailure: undefined,
    actionLogs: [],
  };
  private sawNotLeader = false;
  private configCache: Record<string, unknown> | undefined;
  private appDataCache: Record<string, string> | undefined;
  private statusCache: StatusValue | undefined;
  private killedReason: string | undefined;
  private failAtCall: number | undefined;
  private totalCalls = 0;

  constructor(
    private readonly host: HookHost,
    private readonly unit: UnitRecord,
    private readonly spec: HookSpec,
    /** Remote members joined from this unit's view, frozen at hook start. */
    private readonly members: readonly string[],
    options: { failAtCall?: number | undefined } = {},
  ) {
    this.failAtCall = options.failAtCall;
  }

  /** Total number of tool calls this hook made. */
  get callCount(): number {
    return this.totalCalls;
  }

  /** Why the hook was killed, if it was. */
  get killed(): string | undefined {
    return this.killedReason;
  }

  /** Makes every later tool call fail, as if the hook process had been killed. */
  kill(reason: string): void {
    this.killedReason ??= reason;
  }

  private async enter(tool: string): Promise<void> {
    if (this.killedReason !== undefined) throw new HookKilledError(this.killedReason);
    await this.host.yieldPoint();
    if (this.killedReason !== undefined) throw new HookKilledError(this.killedReason);
    this.totalCalls += 1;
    this.calls.set(tool, (this.calls.get(tool) ?? 0) + 1);
    if (this.failAtCall !== undefined && this.totalCalls >= this.failAtCall) {
      this.kill(`fault injected at tool call ${this.failAtCall} (${tool})`);
      throw new HookKilledError(this.killedReason ?? "");
    }
  }

  private checkRelation(tool: string, relation: RelationId): void {
    const text = String(relation);
    const number = text.slice(text.lastIndexOf(":") + 1);
    const endpoint = text.includes(":") ? text.slice(0, text.lastIndexOf(":")) : PEER_ENDPOINT;
    if (!/^\d+$/.test(number)) {
      throw classifyHookToolFailure(tool, 2, `invalid value "${text}" for option -r: invalid relation id`);
    }
    if (!this.unit.uniter.inRelation || Number(number) !== this.host.relationNumber || endpoint !== PEER_ENDPOINT) {
      throw classifyHookToolFailure(tool, 2, `invalid value "${text}" for option -r: relation not found`);
    }
  }

  private isLeaderNow(): boolean {
    if (this.sawNotLeader) return false;
    const leader = this.host.leader() === this.unit.name;
    if (!leader) this.sawNotLeader = true;
    return leader;
  }

  private requireAction(tool: string): void {
    if (this.spec.kind !== "action") throw classifyHookToolFailure(tool, 1, "not running an action");
  }

  async relationIds(endpoint: string): Promise<RelationId[]> {
    await this.enter("relation-ids");
    return endpoint === PEER_ENDPOINT && this.unit.uniter.inRelation ? [`${PEER_ENDPOINT}:${this.host.relationNumber}`] : [];
  }

  async relationList(relation: RelationId): Promise<string[]> {
    await this.enter("relation-list");
    this.checkRelation("relation-list", relation);
    return [...this.members].sort(compareUnitNames);
  }

  async relationListApp(relation: RelationId): Promise<string> {
    await this.enter("relation-list");
    this.checkRelation("relation-list", relation);
    return this.host.appName;
  }

  async relationGet(relation: RelationId, owner: DatabagOwner): Promise<Record<string, string>> {
    await this.enter("relation-get");
    this.checkRelation("relation-get", relation);
    if ("app" in owner) {
      if (owner.app !== this.host.appName) {
        throw classifyHookToolFailure("relation-get", 1, `cannot read application settings: application "${owner.app}" is not in relation ${relation}`);
      }
      if (this.isLeaderNow()) {
        const data = { ...this.host.appDatabag().data };
        applyChanges(data, this.buffers.appChanges);
        return data;
      }
      // Juju reads a non-leader's own app databag from the controller once per hook.
      this.appDataCache ??= { ...this.host.appDatabag().data };
      return { ...this.appDataCache };
    }
    if (owner.unit.indexOf("/") < 0) {
      throw classifyHookToolFailure("relation-get", 2, `expected unit name, got application name "${owner.unit}"`);
    }
    if (owner.unit === this.unit.name) {
      const data = { ...(this.host.unitDatabag(owner.unit)?.data ?? {}) };
      applyChanges(data, this.buffers.unitChanges);
      return data;
    }
    const committed = this.host.unitDatabag(owner.unit);
    if (committed === undefined) {
      throw classifyHookToolFailure("relation-get", 1, `cannot read settings for unit "${owner.unit}" in relation "${relation}": unit "${owner.unit}": settings not found`);
    }
    if (!this.host.staleRemoteReads) return { ...committed.data };
    const cache = this.unit.uniter.cache;
    let cached = cache.get(owner.unit);
    if (cached === undefined) {
      cached = { ...committed.data };
      cache.set(owner.unit, cached);
    }
    return { ...cached };
  }

  async relationSet(relation: RelationId, changes: Readonly<Record<string, string | null>>, options: { app?: boolean } = {}): Promise<void> {
    await this.enter("relation-set");
    this.checkRelation("relation-set", relation);
    if (options.app === true) {
      if (!this.isLeaderNow()) throw classifyHookToolFailure("relation-set", 1, "cannot write relation settings");
      Object.assign(this.buffers.appChanges, changes);
    } else {
      Object.assign(this.buffers.unitChanges, changes);
    }
  }

  async isLeader(): Promise<boolean> {
    await this.enter("is-leader");
    return this.isLeaderNow();
  }

  async configGet(): Promise<Record<string, unknown>> {
    await this.enter("config-get");
    this.configCache ??= this.host.config(this.unit);
    return structuredClone(this.configCache);
  }

  async goalState(): Promise<GoalState> {
    await this.enter("goal-state");
    return this.host.goalState();
  }

  async statusSet(value: { status: SettableStatus; message: string }, options: { application?: boolean } = {}): Promise<void> {
    await this.enter("status-set");
    if (!isSettableStatus(value.status)) {
      throw classifyHookToolFailure("status-set", 2, `invalid status "${String(value.status)}", expected one of [maintenance blocked waiting active]`);
    }
    if (options.application === true) {
      if (!this.isLeaderNow()) throw classifyHookToolFailure("status-set", 1, "this unit is not the leader");
      this.host.setAppStatus({ status: value.status, message: value.message });
    } else {
      this.host.setUnitStatus(this.unit, { status: value.status, message: value.message });
    }
  }

  async statusGet(options: { application?: boolean } = {}): Promise<StatusValue> {
    await this.enter("status-get");
    if (options.application === true) {
      if (!this.isLeaderNow()) throw classifyHookToolFailure("status-get", 1, "finding application status: this unit is not the leader");
      return { ...this.host.appStatus() };
    }
    // Juju caches the unit status on first read, so a read after status-set in the same hook can be stale.
    this.statusCache ??= { ...this.unit.status };
    return { ...this.statusCache };
  }

  /**
   * The statuses of the application's units, which Juju's `status-get --application` lists
   * beside the application status. Not a tool call of its own: ask it after
   * `statusGet({ application: true })` succeeded.
   */
  applicationUnitStatuses(): Readonly<Record<string, StatusValue>> {
    return this.host.unitStatuses?.() ?? {};
  }

  async applicationVersionSet(version: string): Promise<void> {
    await this.enter("application-version-set");
    this.host.setWorkloadVersion(this.unit, version);
  }

  async actionGet(): Promise<Record<string, unknown>> {
    await this.enter("action-get");
    this.requireAction("action-get");
    return this.spec.kind === "action" ? structuredClone(this.spec.params) : {};
  }

  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    await this.enter("action-set");
    this.requireAction("action-set");
    for (const key of Object.keys(results)) {
      for (const segment of key.split(".")) {
        if (!ACTION_KEY.test(segment)) throw new InvalidActionResultKey(key, "is not a valid action result key");
      }
      if (RESERVED_ACTION_KEYS.has(key)) throw new InvalidActionResultKey(key, "is reserved by Juju");
    }
    Object.assign(this.buffers.actionResults, results);
  }

  async actionFail(message: string): Promise<void> {
    await this.enter("action-fail");
    this.requireAction("action-fail");
    this.buffers.actionFailure = message === "" ? "action failed without reason given, check action for errors" : message;
  }

  async actionLog(message: string): Promise<void> {
    await this.enter("action-log");
    this.requireAction("action-log");
    this.buffers.actionLogs.push(message);
  }

  async jujuLog(level: LogLevel, message: string): Promise<void> {
    await this.enter("juju-log");
    const prefix = this.spec.kind === "hook" && this.spec.relation === true ? `${PEER_ENDPOINT}:${this.host.relationNumber}: ` : "";
    this.host.log(this.unit, level, `${prefix}${message}`);
  }

  async stateGet(): Promise<Record<string, string>> {
    await this.enter("state-get");
    const data = { ...this.unit.stateStore };
    applyStateChanges(data, this.buffers.stateChanges);
    return data;
  }

  async stateSet(changes: Readonly<Record<string, string | null>>): Promise<void> {
    await this.enter("state-set");
    Object.assign(this.buffers.stateChanges, changes);
  }

  async resourceGet(name: string): Promise<string> {
    await this.enter("resource-get");
    const path = await this.host.resourcePath(this.unit, name);
    if (path === undefined) throw classifyHookToolFailure("resource-get", 1, `could not download resource: resource "${name}" not found`);
    return path;
  }
}

/** Orders unit names by application, then unit number (`app/10` after `app/9`). */
export function compareUnitNames(a: string, b: string): number {
  const [appA = "", numberA = "0"] = a.split("/");
  const [appB = "", numberB = "0"] = b.split("/");
  return appA === appB ? Number(numberA) - Number(numberB) : appA < appB ? -1 : 1;
}

/** Expands dotted `action-set` keys into nested objects, as `juju show-task` shows them. */
export function nestActionResults(flat: Readonly<Record<string, string>>): Record<string, unknown> {
  const nested: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node: Record<string, unknown> = nested;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next === "object" && next !== null) node = next as Record<string, unknown>;
      else {
        const created: Record<string, unknown> = {};
        node[part] = created;
        node = created;
      }
    }
    node[parts[parts.length - 1] ?? key] = value;
  }
  return nested;
}
