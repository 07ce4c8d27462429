import type { DatabagOwner, GoalState, HookTools, LogLevel, RelationId, SettableStatus, StatusValue } from "@refresh/juju";

/** One call that reached the in-memory tools: the method and its arguments. */
export interface RecordedCall {
  readonly method: keyof HookTools;
  readonly args: readonly unknown[];
}

interface FakeRelation {
  readonly remoteApp: string;
  readonly units: string[];
  readonly databags: Map<string, Record<string, string>>;
}

function ownerKey(owner: DatabagOwner): string {
  return "unit" in owner ? `unit:${owner.unit}` : `app:${owner.app}`;
}

/** A relation error carrying Juju's argument-time exit status. */
class RelationNotFound extends Error {
  readonly exitCode = 2;
  constructor(relation: string) {
    super(`relation ${JSON.stringify(relation)}: relation not found`);
  }
}

/**
 * A small in-memory model of one unit's view of Juju, enough to check the transport: it
 * keeps what is written (so a later read returns it), enforces leadership and action-only
 * tools, and records every call.
 */
export class InMemoryHookTools implements HookTools {
  readonly calls: RecordedCall[] = [];
  readonly logs: { level: LogLevel; message: string }[] = [];
  readonly actionLogs: string[] = [];
  readonly relations = new Map<RelationId, FakeRelation>();
  leader = false;
  config: Record<string, unknown> = {};
  goal: GoalState = { units: {}, relations: {} };
  unitStatus: StatusValue = { status: "unknown", message: "" };
  appStatus: StatusValue = { status: "unknown", message: "" };
  workloadVersion = "";
  /** Parameters of the running action; undefined outside an action. */
  actionParams: Record<string, unknown> | undefined = undefined;
  actionResults: Record<string, string> = {};
  actionFailure: string | undefined = undefined;
  state: Record<string, string> = {};
  resources: Record<string, string> = {};

  constructor(readonly unitName: string) {}

  get appName(): string {
    return this.unitName.slice(0, this.unitName.indexOf("/"));
  }

  addRelation(id: RelationId, remoteApp: string, units: string[] = []): void {
    this.relations.set(id, { remoteApp, units, databags: new Map() });
  }

  private record(method: keyof HookTools, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  private relation(id: RelationId): FakeRelation {
    const relation = this.relations.get(id);
    if (relation === undefined) throw new RelationNotFound(id);
    return relation;
  }

  private requireAction(): Record<string, unknown> {
    if (this.actionParams === undefined) throw new Error("not running an action");
    return this.actionParams;
  }

  databag(id: RelationId, owner: DatabagOwner): Record<string, string> {
    return this.relation(id).databags.get(ownerKey(owner)) ?? {};
  }

  async relationIds(endpoint: string): Promise<RelationId[]> {
    this.record("relationIds", endpoint);
    return [...this.relations.keys()].filter((id) => id.slice(0, id.lastIndexOf(":")) === endpoint).sort();
  }
  async relationList(relation: RelationId): Promise<string[]> {
    this.record("relationList", relation);
    return [...this.relation(relation).units].sort();
  }
  async relationListApp(relation: RelationId): Promise<string> {
    this.record("relationListApp", relation);
    return this.relation(relation).remoteApp;
  }
  async relationGet(relation: RelationId, owner: DatabagOwner): Promise<Record<string, string>> {
    this.record("relationGet", relation, owner);
    return { ...this.databag(relation, owner) };
  }
  async relationSet(relation: RelationId, changes: Readonly<Record<string, string | null>>, options?: { app?: boolean }): Promise<void> {
    this.record("relationSet", relation, { ...changes }, options);
    const target = this.relation(relation);
    if (options?.app === true && !this.leader) throw new Error("cannot write relation settings");
    const owner: DatabagOwner = options?.app === true ? { app: this.appName } : { unit: this.unitName };
    const databag = { ...(target.databags.get(ownerKey(owner)) ?? {}) };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete databag[key];
      else databag[key] = value;
    }
    target.databags.set(ownerKey(owner), databag);
  }
  async isLeader(): Promise<boolean> {
    this.record("isLeader");
    return this.leader;
  }
  async configGet(): Promise<Record<string, unknown>> {
    this.record("configGet");
    return { ...this.config };
  }
  async goalState(): Promise<GoalState> {
    this.record("goalState");
    return this.goal;
  }
  async statusSet(value: { status: SettableStatus; message: string }, options?: { application?: boolean }): Promise<void> {
    this.record("statusSet", value, options);
    if (options?.application === true) {
      if (!this.leader) throw new Error("this unit is not the leader");
      this.appStatus = { ...value };
    } else {
      this.unitStatus = { ...value };
    }
  }
  async statusGet(options?: { application?: boolean }): Promise<StatusValue> {
    this.record("statusGet", options);
    if (options?.application === true) {
      if (!this.leader) throw new Error("finding application status: this unit is not the leader");
      return this.appStatus;
    }
    return this.unitStatus;
  }
  async applicationVersionSet(version: string): Promise<void> {
    this.record("applicationVersionSet", version);
    this.workloadVersion = version;
  }
  async actionGet(): Promise<Record<string, unknown>> {
    this.record("actionGet");
    return this.requireAction();
  }
  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    this.record("actionSet", { ...results });
    this.requireAction();
    Object.assign(this.actionResults, results);
  }
  async actionFail(message: string): Promise<void> {
    this.record("actionFail", message);
    this.requireAction();
    this.actionFailure = message;
  }
  async actionLog(message: string): Promise<void> {
    this.record("actionLog", message);
    this.requireAction();
    this.actionLogs.push(message);
  }
  async jujuLog(level: LogLevel, message: string): Promise<void> {
    this.record("jujuLog", level, message);
    this.logs.push({ level, message });
  }
  async stateGet(): Promise<Record<string, string>> {
    this.record("stateGet");
    return { ...this.state };
  }
  async stateSet(changes: Readonly<Record<string, string | null>>): Promise<void> {
    this.record("stateSet", { ...changes });
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete this.state[key];
      else this.state[key] = value;
    }
  }
  async resourceGet(name: string): Promise<string> {
    this.record("resourceGet", name);
    const path = this.resources[name];
    if (path === undefined) throw new Error(`resource ${JSON.stringify(name)} not found`);
    return path;
  }
}
