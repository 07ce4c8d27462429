import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { GoalState, HookContext, Logger, StatusValue } from "@refresh/juju";
import type { CharmRevision, LoadedCharm } from "./charm.js";
import { coerceConfigValue, jujuCharmUrl, loadCharm, validateActionParams } from "./charm.js";
import { buildJujuEnvironment } from "../process/environment.js";
import { SimulatorError } from "./errors.js";
import type { HookHost } from "./hook-tools.js";
import { SimulatedHookTools, compareUnitNames, nestActionResults } from "./hook-tools.js";
import type { StatefulSetDriver } from "./kubernetes-workload.js";
import { InMemoryStatefulSet, nextPodToUpdate } from "./kubernetes-workload.js";
import { SeededRandom } from "./random.js";
import type { StatusView } from "./status-view.js";
import { buildStatusView, renderStatusTable } from "./status-view.js";
import type { ActionOutcome, Databag, HookSpec, LogLine, UnitRecord } from "./world.js";
import { PEER_ENDPOINT, applyChanges, applyStateChanges, freshUniter, hookLabel, initialStatus } from "./world.js";

/** The content of a file resource attached with `juju deploy/refresh --resource`. */
export type FileResourceContent = string | Uint8Array;

/** Where the application runs: pods of a StatefulSet, or machines with a snap workload. */
export type Substrate = "kubernetes" | "machines";

/** Options of {@link createSimulator}. */
export interface SimulatorOptions {
  /** Kubernetes (pods, partition rollout) or machines (charm code swapped in place). */
  readonly substrate: Substrate;
  /** Every charm revision the test may deploy or refresh to. */
  readonly charms: readonly CharmRevision[];
  /** Seed of every choice the simulator makes. Same seed, same run. @default 1 */
  readonly seed?: number;
  /** Application name; defaults to the charm's metadata name, else `app`. */
  readonly appName?: string;
  /** `ch:` (Charmhub) or `local:` charm URLs in `.juju-charm`. @default "charmhub" */
  readonly charmOrigin?: "charmhub" | "local";
  /**
   * `interleaved`: hooks of different units run at once and interleave at every hook-tool call
   * (Kubernetes agents are independent). `serial`: one hook at a time model-wide.
   * @default "interleaved"
   */
  readonly concurrency?: "interleaved" | "serial";
  /** Retry a failed hook automatically, as Juju does by default. @default true */
  readonly retryFailedHooks?: boolean;
  /**
   * Serve other units' databags from the agent's per-unit cache (stale until this unit's
   * `-relation-changed` for that unit), as Juju does. Turn off to show a bug is cache-related.
   * @default true
   */
  readonly staleRemoteReads?: boolean;
  /**
   * Reproduce Juju bug LP #2068500: a unit whose hook is failing when its charm code changes
   * gets no `stop` (Kubernetes) and no `upgrade-charm`; it sees the new code on its next events.
   * @default false
   */
  readonly reproduceLp2068500?: boolean;
  /** Directory for the units' charm directories; a fresh temp dir by default. */
  readonly baseDir?: string;
  /** @default "test-model" */
  readonly modelName?: string;
  /** @default "3.6.4" */
  readonly jujuVersion?: string;
  /** Extra environment every hook sees (e.g. `KUBERNETES_SERVICE_HOST`). */
  readonly environment?: Readonly<Record<string, string>>;
  /** A hook that neither calls a tool nor ends within this time fails. @default 30000 */
  readonly hookTimeoutMs?: number;
  /** Process mode: runs a charm's `dispatch` (see {@link DispatchRequest}). */
  readonly dispatcher?: Dispatcher;
  /** Swap in another StatefulSet implementation (e.g. the fake cluster's). */
  readonly statefulSet?: (appName: string, initial: { charmRevision: number; image: string }) => StatefulSetDriver;
  /**
   * Extra environment for one unit's hooks, asked at the start of every hook (after
   * {@link environment}, so it wins): a per-machine snapd socket, a per-pod service account.
   */
  readonly unitEnvironment?: (unit: string) => Readonly<Record<string, string>> | undefined;
  /** Told when units come and go and when a test changes a workload's health (see {@link SimulatorObserver}). */
  readonly observer?: SimulatorObserver;
  /** What the unit's workload looks like outside Juju (machines: the snap), shown in {@link Simulator.status}. */
  readonly workloadOf?: (unit: string) => UnitWorkload | undefined;
}

/** Lifecycle callbacks for what lives beside the model (fake snapd per machine, service accounts). */
export interface SimulatorObserver {
  /** A unit was created (deploy, add-unit, scale-up), before any of its hooks run. Awaited. */
  unitCreated?(unit: { readonly name: string; readonly number: number }): Promise<void> | void;
  /** A unit ran `remove` and is gone (its machine or pod goes with it). */
  unitRemoved?(unit: { readonly name: string; readonly number: number }): void;
  /** {@link Simulator.setWorkloadHealth} was called. */
  workloadHealthChanged?(unit: string, healthy: boolean): void;
}

/** A unit's workload as the machine sees it (machines: the installed snap and its service). */
export interface UnitWorkload {
  /** e.g. the snap's name. */
  readonly name: string;
  /** Installed revision, e.g. `"183"`; undefined when nothing is installed. */
  readonly revision: string | undefined;
  /** Installed version, e.g. `"16.8"`. */
  readonly version: string | undefined;
  /** Whether its service runs. */
  readonly running: boolean;
}

/** What process mode needs to run one event through a charm's `dispatch`. */
export interface DispatchRequest {
  /** Absolute path of the executable to run. */
  readonly executable: string;
  readonly charmDir: string;
  /** The Juju environment of the event (see {@link buildHookEnvironment}); add PATH and the agent socket. */
  readonly environment: Readonly<Record<string, string>>;
  /** The hook tools the spawned process's tool calls must reach. */
  readonly tools: SimulatedHookTools;
  readonly timeoutMs: number;
  /** Relations in the hook's context (`refresh-v-three:0` once the unit joined it), so `-r 0` resolves. */
  readonly relations?: readonly string[];
  /** The unit the event runs on. */
  readonly unit?: string;
}

/** Runs one event as a process and reports how it ended. */
export type Dispatcher = (request: DispatchRequest) => Promise<{ exitCode: number; stdout: string; stderr: string; durationMs?: number }>;

/** One hook or action the simulator ran. */
export interface HookRecord {
  /** 1-based index of this hook in the run. */
  readonly step: number;
  readonly unit: string;
  /** `install`, `refresh-v-three-relation-changed`, `action resume-refresh`, … */
  readonly hook: string;
  readonly remoteUnit: string | undefined;
  readonly charmRevision: number;
  readonly outcome: "succeeded" | "failed";
  /** Why it failed, when it did. */
  readonly error: string | undefined;
  /** Hook-tool calls the hook made, by tool name. */
  readonly toolCalls: Readonly<Record<string, number>>;
  /** Process mode: everything the hook wrote to stderr (Juju puts it in the unit log). */
  readonly stderr?: string;
  /**
   * Process mode: how long the hook's process ran, from starting `dispatch` to its exit, in ms.
   * The simulator's own bookkeeping before and after (commit, invariants) is not in it.
   */
  readonly processMs?: number;
}

/** An invariant that did not hold after a hook. */
export interface InvariantViolation {
  readonly step: number;
  readonly afterHook: string;
  readonly unit: string;
  readonly invariant: string;
  readonly explanation: string;
}

/** A check run after every hook; returns an explanation when the invariant is broken. */
export type Invariant = (sim: Simulator) => string | undefined | void;

interface RunningHook {
  readonly unit: UnitRecord;
  /** `parked`: at least one of its calls waits at a yield point. `active`: none does, it is running. */
  state: "active" | "parked" | "done";
  /**
   * Wake-ups of the hook's calls waiting at a yield point, oldest first. A hook may have many:
   * Juju accepts concurrent tool processes from one hook (the agent serialises them), and a
   * charm may await several tool calls and requests at once.
   */
  readonly waiting: (() => void)[];
  startedAt: number;
  tools: SimulatedHookTools | undefined;
  spec: HookSpec | undefined;
}

interface QueuedAction {
  readonly spec: Extract<HookSpec, { kind: "action" }>;
}

/** Starts a simulator for one application; deploy it with {@link Simulator.deploy}. */
export async function createSimulator(options: SimulatorOptions): Promise<Simulator> {
  const charms = new Map<number, LoadedCharm>();
  for (const source of options.charms) {
    if (charms.has(source.revision)) {
      throw new SimulatorError("CHARM_REVISION_DUPLICATE", `charm revision ${source.revision} is listed twice; give each revision once`);
    }
    charms.set(source.revision, await loadCharm(source));
  }
  const baseDir = options.baseDir ?? (await mkdtemp(join(tmpdir(), "refresh-sim-")));
  return new Simulator(options, charms, baseDir);
}

/**
 * A simulated Juju model with one application: units, the `refresh-v-three` peer relation,
 * config, actions, charm revisions and the workload (pods or snaps), driven by `juju`-like
 * commands and a seeded scheduler. See the package README for a walkthrough.
 */
export class Simulator {
  /** Every hook and action run so far, in order. */
  readonly history: HookRecord[] = [];
  /** Every `juju-log` line. */
  readonly logs: LogLine[] = [];
  /** Invariant violations collected after each hook. */
  readonly violations: InvariantViolation[] = [];
  /** Outcomes of finished actions, by action id. */
  readonly actions = new Map<string, ActionOutcome>();
  /** The application's StatefulSet (Kubernetes only). */
  statefulSet: StatefulSetDriver | undefined;

  readonly appName: string;
  readonly substrate: Substrate;
  readonly relationNumber = 0;
  readonly modelName: string;
  readonly modelUuid: string;

  private readonly random: SeededRandom;
  private readonly unitsByName = new Map<string, UnitRecord>();
  private readonly databags = new Map<string, Databag>();
  private readonly appBag: Databag = { data: {}, version: 0 };
  private readonly scope = new Set<string>();
  private readonly running = new Map<string, RunningHook>();
  private readonly actionQueues = new Map<string, QueuedAction[]>();
  private readonly faults = new Map<string, { atToolCall: number | undefined }>();
  private readonly health = new Map<string, boolean>();
  private readonly invariants: { name: string; check: Invariant }[] = [];
  private readonly settingsByRevision = new Map<number, { values: Record<string, string | number | boolean>; generation: number }>();
  private readonly waiters: (() => void)[] = [];
  private leaderName: string | undefined;
  private leaderTerm = 0;
  private appStatusValue: StatusValue = { status: "unknown", message: "" };
  private appCharm: LoadedCharm | undefined;
  private configGeneration = 0;
  private versionCounter = 0;
  private actionCounter = 0;
  private nextUnitNumber = 0;
  private stepCounter = 0;
  private clock = Date.UTC(2025, 0, 1);
  private deployed = false;

  /** @internal use {@link createSimulator}. */
  constructor(
    private readonly options: SimulatorOptions,
    private readonly charms: ReadonlyMap<number, LoadedCharm>,
    /** Where the units' charm directories live. */
    readonly baseDir: string,
  ) {
    this.substrate = options.substrate;
    this.random = new SeededRandom(options.seed ?? 1);
    const first = charms.values().next().value;
    this.appName = options.appName ?? first?.metadata.name ?? "app";
    this.modelName = options.modelName ?? "test-model";
    const hex = (n: number): string => Math.floor(n * 0xffffffff).toString(16).padStart(8, "0");
    this.modelUuid = `${hex(this.random.next())}-${hex(this.random.next()).slice(0, 4)}-4${hex(this.random.next()).slice(0, 3)}-8${hex(this.random.next()).slice(0, 3)}-${hex(this.random.next())}${hex(this.random.next()).slice(0, 4)}`;
  }

  // ---------------------------------------------------------------------------------------
  // juju-like commands

  /**
   * `juju deploy`: creates the application with `units` units on charm `revision` (the first
   * listed by default). Hooks are queued, not run: call {@link settle}.
   */
  async deploy(
    options: { revision?: number; units?: number; config?: Readonly<Record<string, string | number | boolean>>; resources?: Readonly<Record<string, FileResourceContent>> } = {},
  ): Promise<void> {
    if (this.deployed) throw new SimulatorError("SIM_ALREADY_DEPLOYED", `${this.appName} is already deployed; use addUnit, config or refresh instead`);
    const charm = this.charm(options.revision ?? this.charms.keys().next().value ?? 0);
    const units = options.units ?? 3;
    if (!Number.isInteger(units) || units < 1) throw new SimulatorError("SIM_INVALID_UNIT_COUNT", `deploy needs at least one unit, got ${units}`);
    if (options.resources !== undefined) this.attachResources(charm, options.resources);
    this.deployed = true;
    this.appCharm = charm;
    this.settingsByRevision.set(charm.source.revision, { values: {}, generation: ++this.configGeneration });
    if (options.config !== undefined) this.applyConfig(options.config);
    if (this.substrate === "kubernetes") {
      const template = { charmRevision: charm.source.revision, image: imageOf(charm) };
      this.statefulSet = this.options.statefulSet?.(this.appName, template) ?? new InMemoryStatefulSet(this.appName, template);
    }
    for (let i = 0; i < units; i += 1) await this.createUnit();
    this.leaderName = this.random.pick([...this.unitsByName.keys()].sort(compareUnitNames));
    this.leaderTerm += 1;
  }

  /** `juju add-unit` (machines) / `juju scale-application` up by `count` (Kubernetes). */
  async addUnit(count = 1): Promise<string[]> {
    this.requireDeployed();
    const added: string[] = [];
    for (let i = 0; i < count; i += 1) added.push((await this.createUnit()).name);
    return added;
  }

  /**
   * `juju remove-unit`: the unit goes `dying`, peers run `-relation-departed`, the unit runs
   * `-relation-departed` (for each peer, with itself as departing unit), `stop` and `remove`.
   * On Kubernetes only the highest unit can go (scale-down); the name defaults to it.
   */
  removeUnit(unit?: string): string {
    this.requireDeployed();
    const alive = this.aliveUnits();
    const highest = alive[alive.length - 1];
    const name = unit ?? highest?.name;
    const record = name === undefined ? undefined : this.unitsByName.get(name);
    if (record === undefined || record.life !== "alive") throw new SimulatorError("SIM_UNKNOWN_UNIT", `no alive unit ${String(name)} to remove; alive units: ${alive.map((u) => u.name).join(", ")}`);
    if (this.substrate === "kubernetes" && record !== highest) {
      throw new SimulatorError("SIM_K8S_SCALE_DOWN_ORDER", `Kubernetes removes the highest unit first (${highest?.name}); remove that one or leave the name out`);
    }
    record.life = "dying";
    this.scope.delete(record.name);
    this.reconcile();
    return record.name;
  }

  /**
   * `juju config <app> key=value`: null resets an option to its default. Units on an older
   * charm revision keep the settings of their revision (LP #2084886) and get no
   * `config-changed`.
   */
  config(changes: Readonly<Record<string, string | number | boolean | null>>): void {
    this.requireDeployed();
    this.applyConfig(changes);
  }

  /**
   * `juju refresh --revision <to>`. Kubernetes: new pod template, pods replaced from the
   * highest ordinal down as the partition allows. Machines: the charm code is swapped on
   * every unit in place (local files survive), then `upgrade-charm`.
   * `skipUpgradeCharm` names units that get the new code without `upgrade-charm` (LP #2068500).
   */
  refresh(options: { to: number; resource?: string; resources?: Readonly<Record<string, FileResourceContent>>; skipUpgradeCharm?: readonly string[] }): void {
    this.requireDeployed();
    const charm = this.charm(options.to);
    if (options.resources !== undefined) this.attachResources(charm, options.resources);
    const previous = this.currentSettings();
    this.appCharm = charm;
    this.settingsByRevision.set(charm.source.revision, { values: { ...previous.values }, generation: ++this.configGeneration });
    const skip = new Set(options.skipUpgradeCharm ?? []);
    if (this.substrate === "kubernetes") {
      this.requireStatefulSet().applyTemplate({ charmRevision: charm.source.revision, image: options.resource ?? imageOf(charm) });
      this.skipUpgradeOnNextPod = skip;
    } else {
      for (const unit of this.aliveUnits()) {
        unit.transition = { kind: "swap-code", to: charm, skipUpgradeCharm: skip.has(unit.name) || this.bugApplies(unit) };
      }
    }
    this.reconcile();
  }

  /** Kubernetes: evicts a unit's pod. `stop` runs in the old pod; the new one comes back at the revision the partition dictates. */
  evict(unit: string): void {
    const record = this.aliveUnit(unit);
    if (this.substrate !== "kubernetes") throw new SimulatorError("SIM_NOT_KUBERNETES", "evict applies to Kubernetes pods only; this model runs on machines");
    if (record.transition !== undefined) return;
    this.requireStatefulSet().setReady(record.number, false);
    record.transition = { kind: "replace-pod", runStop: !this.bugApplies(record), skipUpgradeCharm: this.bugApplies(record), stopDone: false };
  }

  /** Makes the unit's next hook fail: when it exits, or at its `atToolCall`-th tool call (1-based). */
  failNextHook(unit: string, options: { atToolCall?: number } = {}): void {
    this.aliveUnit(unit);
    this.faults.set(unit, { atToolCall: options.atToolCall });
  }

  /** Marks a unit's workload healthy or not. On Kubernetes an unhealthy pod is not Ready, which holds the rollout. */
  setWorkloadHealth(unit: string, healthy: boolean): void {
    const record = this.aliveUnit(unit);
    this.health.set(unit, healthy);
    this.options.observer?.workloadHealthChanged?.(unit, healthy);
    if (this.statefulSet !== undefined) {
      this.statefulSet.setReady(record.number, healthy && record.uniter.started && record.transition === undefined);
    }
    this.reconcile();
  }

  /** Moves leadership: the new leader runs `leader-elected`, the others `leader-settings-changed`. */
  setLeader(unit: string): void {
    this.aliveUnit(unit);
    if (this.leaderName === unit) return;
    this.leaderName = unit;
    this.leaderTerm += 1;
  }

  /** `juju resolve`: retries (or with `retry: false`, skips) the failed hook of a unit when automatic retries are off. */
  resolve(unit: string, options: { retry?: boolean } = {}): void {
    const record = this.aliveUnit(unit);
    if (record.uniter.failed === undefined) throw new SimulatorError("SIM_UNIT_NOT_IN_ERROR", `${unit} has no failed hook to resolve`);
    if (options.retry === false) {
      this.completeBookkeeping(record, record.uniter.failed);
      record.uniter.failed = undefined;
      record.agentError = undefined;
    }
    this.manualRetry.add(unit);
  }

  /** Queues `update-status` on every started unit (Juju fires it on a timer). */
  fireUpdateStatus(): void {
    for (const unit of this.aliveUnits()) if (unit.uniter.started) unit.uniter.updateStatusPending = true;
  }

  /**
   * `juju run <unit> <action>`: validates the parameters against the charm's action schema
   * (defaults applied), queues the action, runs the model until it finished (other units' hooks
   * interleave as usual) and returns its outcome.
   */
  async runAction(unit: string, name: string, params: Readonly<Record<string, unknown>> = {}, options: { maxSteps?: number } = {}): Promise<ActionOutcome> {
    const id = this.queueAction(unit, name, params);
    const maxSteps = options.maxSteps ?? 1000;
    for (let steps = 0; !this.actions.has(id); steps += 1) {
      if (steps >= maxSteps) throw this.notSettledError(`action ${name} (id ${id}) did not finish within ${maxSteps} scheduler steps`);
      if (!(await this.advance())) throw this.notSettledError(`action ${name} (id ${id}) can never run (is ${unit} removed?)`);
    }
    const outcome = this.actions.get(id);
    if (outcome === undefined) throw new Error("unreachable");
    return outcome;
  }

  /** Queues an action without running it; returns its id (see {@link actions}). */
  queueAction(unit: string, name: string, params: Readonly<Record<string, unknown>> = {}): string {
    // Juju runs actions on a dying unit until it is gone (charms may need them to tear down).
    const record = unit === "leader" ? this.aliveUnit(this.leaderName ?? "") : this.unitRecord(unit);
    if (record.life === "removed") throw new SimulatorError("SIM_UNIT_NOT_ALIVE", `${unit} is removed; run the action on a unit that is still in the model (${this.units.join(", ")})`);
    const spec = record.charm.metadata.actions[name];
    if (spec === undefined) {
      throw new SimulatorError("ACTION_NOT_DEFINED", `action "${name}" is not defined by ${record.name}'s charm (revision ${record.charm.source.revision}); defined: ${Object.keys(record.charm.metadata.actions).join(", ") || "none"}`);
    }
    const checked = validateActionParams(name, spec, params);
    if (!checked.ok) throw new SimulatorError("ACTION_PARAMS_INVALID", `invalid parameters for action "${name}": ${checked.problems.join("; ")}`);
    this.actionCounter += 1;
    const id = String(this.actionCounter);
    const queue = this.actionQueues.get(record.name) ?? [];
    queue.push({ spec: { kind: "action", name, id, params: checked.params } });
    this.actionQueues.set(record.name, queue);
    return id;
  }

  /**
   * Runs queued hooks until no unit has work left. Throws with a trace of the last hooks when
   * the model is still busy after `maxSteps` scheduler steps (a charm that keeps waking its
   * peers, or a hook that fails on every retry).
   */
  async settle(options: { maxSteps?: number } = {}): Promise<void> {
    const maxSteps = options.maxSteps ?? 2000;
    for (let steps = 0; ; steps += 1) {
      if (steps >= maxSteps) throw this.notSettledError(`the model did not settle within ${maxSteps} scheduler steps`);
      if (!(await this.advance())) return;
    }
  }

  /** Runs one scheduler step (start or resume one hook). False when the model is quiet. */
  async step(): Promise<boolean> {
    return this.advance();
  }

  /**
   * A yield point for the outside world: a fake server calls it before answering a charm's
   * request (a Kubernetes API call, a snapd call), so the running hook pauses there and the
   * seeded scheduler may run other units' hooks first, as it does at every hook-tool call.
   * Resolves at once when no hook is running (a request from the test itself).
   *
   * Name the `unit` whose hook sent the request when the server can tell (a per-machine
   * socket, a per-unit token): a hook that awaits a tool call and a request at once is then
   * parked at both. Without it the request is put on the hook running at that moment.
   */
  requestYieldPoint(unit?: string): Promise<void> {
    if (unit !== undefined) {
      // A unit with no hook running (a request from the test itself) waits for nobody.
      const own = this.running.get(unit);
      return own === undefined ? Promise.resolve() : this.park(own);
    }
    // Unattributed: only one hook runs at a time between yield points, so it comes from that one.
    const active = [...this.running.values()].find((run) => run.state === "active");
    return active === undefined ? Promise.resolve() : this.park(active);
  }

  /** Registers a check run after every hook; violations land in {@link violations}. */
  addInvariant(name: string, check: Invariant): void {
    this.invariants.push({ name, check });
  }

  /** Deletes the units' charm directories. */
  async dispose(): Promise<void> {
    await rm(this.baseDir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------
  // inspection

  /** The current leader's name. */
  get leader(): string | undefined {
    return this.leaderName;
  }

  /** Names of units that are not removed, in unit-number order. */
  get units(): string[] {
    return this.aliveUnits(true).map((unit) => unit.name);
  }

  /** The committed peer databag of a unit (what other units will eventually read). */
  unitData(unit: string): Record<string, string> {
    return { ...(this.databags.get(unit)?.data ?? {}) };
  }

  /** The committed peer app databag. */
  appData(): Record<string, string> {
    return { ...this.appBag.data };
  }

  /** A unit's committed `state-get` store. */
  unitState(unit: string): Record<string, string> {
    return { ...this.unitRecord(unit).stateStore };
  }

  /** A unit's status as the charm last set it, or Juju's error status while a hook fails. */
  unitStatus(unit: string): StatusValue {
    const record = this.unitRecord(unit);
    return record.agentError === undefined ? { ...record.status } : { status: "error", message: record.agentError };
  }

  /** The application status the leader last set. */
  appStatus(): StatusValue {
    return { ...this.appStatusValue };
  }

  /** The unit's workload version (`application-version-set`). */
  workloadVersion(unit: string): string {
    return this.unitRecord(unit).workloadVersion;
  }

  /** The charm revision whose code the unit runs. */
  charmRevision(unit: string): number {
    return this.unitRecord(unit).charm.source.revision;
  }

  /** The charm revision the application is set to (`juju refresh` target). */
  get appCharmRevision(): number | undefined {
    return this.appCharm?.source.revision;
  }

  /** The unit's charm directory. */
  charmDir(unit: string): string {
    return this.unitRecord(unit).charmDir;
  }

  /** The unit's pod (Kubernetes only). */
  pod(unit: string): { uid: string; revision: string; ready: boolean; charmRevision: number } | undefined {
    const record = this.unitRecord(unit);
    const pod = this.statefulSet?.pods().find((p) => p.ordinal === record.number);
    if (pod === undefined || this.statefulSet === undefined) return undefined;
    return { uid: pod.uid, revision: pod.revision, ready: pod.ready, charmRevision: this.statefulSet.templateOf(pod.revision).charmRevision };
  }

  /** `juju status` as data. */
  status(): StatusView {
    return buildStatusView({
      appName: this.appName,
      substrate: this.substrate,
      appStatus: this.appStatusValue,
      appCharmRevision: this.appCharm?.source.revision,
      leader: this.leaderName,
      units: this.aliveUnits(true).map((unit) => ({
        name: unit.name,
        status: this.unitStatus(unit.name),
        agent: this.running.has(unit.name) ? "executing" : unit.life === "dying" ? "dying" : "idle",
        workloadVersion: unit.workloadVersion,
        charmRevision: unit.charm.source.revision,
        pod: this.pod(unit.name),
        snap: this.options.workloadOf?.(unit.name),
      })),
    });
  }

  /** `juju status` as an aligned text table. */
  statusTable(): string {
    return renderStatusTable(this.status());
  }

  /** Hooks run on a unit, in order (labels as in {@link HookRecord.hook}). */
  hooksOf(unit: string): string[] {
    return this.history.filter((record) => record.unit === unit).map((record) => record.hook);
  }

  // ---------------------------------------------------------------------------------------
  // internals: model

  private skipUpgradeOnNextPod = new Set<string>();
  private readonly manualRetry = new Set<string>();

  private readonly resources = new Map<string, { content: FileResourceContent; revision: number }>();

  /** `--resource name=file`: checks the charm declares each as a file resource, then attaches a new revision of it. */
  private attachResources(charm: LoadedCharm, resources: Readonly<Record<string, FileResourceContent>>): void {
    const declared = charm.metadata.resources ?? {};
    for (const name of Object.keys(resources)) {
      const resource = declared[name];
      if (resource === undefined || resource.type !== "file") {
        const files = Object.entries(declared).filter(([, candidate]) => candidate.type === "file").map(([candidate]) => candidate);
        throw new SimulatorError("SIM_RESOURCE_UNKNOWN", `charm revision ${charm.source.revision} declares no file resource "${name}" (file resources: ${files.join(", ") || "none"}); declare it under resources: in metadata.yaml`);
      }
    }
    for (const [name, content] of Object.entries(resources)) {
      this.resources.set(name, { content, revision: (this.resources.get(name)?.revision ?? 0) + 1 });
    }
  }

  /** Where `resource-get` finds a file resource: written beside the unit's charm directory, as the agent downloads it. */
  private async resourcePath(unit: UnitRecord, name: string): Promise<string | undefined> {
    const attached = this.resources.get(name);
    const declared = unit.charm.metadata.resources?.[name];
    if (attached === undefined || declared === undefined || declared.type !== "file") return undefined;
    const path = join(dirname(unit.charmDir), "resources", name, declared.filename ?? name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, attached.content);
    return path;
  }

  private requireDeployed(): void {
    if (!this.deployed) throw new SimulatorError("SIM_NOT_DEPLOYED", "nothing is deployed yet; call deploy() first");
  }

  private requireStatefulSet(): StatefulSetDriver {
    if (this.statefulSet === undefined) throw new SimulatorError("SIM_NOT_KUBERNETES", "this model has no StatefulSet (machines substrate)");
    return this.statefulSet;
  }

  private charm(revision: number): LoadedCharm {
    const charm = this.charms.get(revision);
    if (charm === undefined) {
      throw new SimulatorError("CHARM_REVISION_UNKNOWN", `charm revision ${revision} was not given to createSimulator; known: ${[...this.charms.keys()].join(", ")}`);
    }
    return charm;
  }

  private unitRecord(unit: string): UnitRecord {
    const record = this.unitsByName.get(unit);
    if (record === undefined) throw new SimulatorError("SIM_UNKNOWN_UNIT", `no unit ${unit} in this model; units: ${[...this.unitsByName.keys()].join(", ")}`);
    return record;
  }

  private aliveUnit(unit: string): UnitRecord {
    const record = this.unitRecord(unit);
    if (record.life !== "alive") throw new SimulatorError("SIM_UNIT_NOT_ALIVE", `${unit} is ${record.life}; use an alive unit`);
    return record;
  }

  private aliveUnits(includeDying = false): UnitRecord[] {
    return [...this.unitsByName.values()]
      .filter((unit) => unit.life === "alive" || (includeDying && unit.life === "dying"))
      .sort((a, b) => a.number - b.number);
  }

  private bugApplies(unit: UnitRecord): boolean {
    return this.options.reproduceLp2068500 === true && unit.agentError !== undefined;
  }

  private currentSettings(): { values: Record<string, string | number | boolean>; generation: number } {
    const revision = this.appCharm?.source.revision ?? 0;
    const settings = this.settingsByRevision.get(revision);
    if (settings === undefined) {
      throw new SimulatorError("SIM_INTERNAL", `no config settings for charm revision ${revision}; this is a bug in @refresh/testing, please report it`);
    }
    return settings;
  }

  private applyConfig(changes: Readonly<Record<string, string | number | boolean | null>>): void {
    const charm = this.appCharm;
    if (charm === undefined) return;
    const settings = this.currentSettings();
    const values = { ...settings.values };
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) {
        if (!(name in charm.metadata.config)) coerceConfigValue(name, undefined, "");
        delete values[name];
      } else {
        values[name] = coerceConfigValue(name, charm.metadata.config[name], value);
      }
    }
    if (JSON.stringify(values) !== JSON.stringify(settings.values)) {
      this.settingsByRevision.set(charm.source.revision, { values, generation: ++this.configGeneration });
    }
  }

  private effectiveConfig(unit: UnitRecord): Record<string, unknown> {
    const settings = this.settingsByRevision.get(unit.charm.source.revision) ?? this.currentSettings();
    const result: Record<string, unknown> = {};
    for (const [name, option] of Object.entries(unit.charm.metadata.config)) {
      if (option.default !== undefined) result[name] = option.default;
    }
    for (const [name, value] of Object.entries(settings.values)) {
      if (name in unit.charm.metadata.config) result[name] = value;
    }
    return result;
  }

  private configGenerationFor(unit: UnitRecord): number {
    return (this.settingsByRevision.get(unit.charm.source.revision) ?? this.currentSettings()).generation;
  }

  private async createUnit(): Promise<UnitRecord> {
    const charm = this.appCharm;
    if (charm === undefined) throw new SimulatorError("SIM_INTERNAL", "a unit was created before any charm was deployed; this is a bug in @refresh/testing, please report it");
    const number = this.substrate === "kubernetes" ? Math.max(-1, ...this.aliveUnits(true).map((u) => u.number)) + 1 : this.nextUnitNumber;
    this.nextUnitNumber = Math.max(this.nextUnitNumber, number + 1);
    const name = `${this.appName}/${number}`;
    let unitCharm = charm;
    if (this.statefulSet !== undefined) {
      const pod = this.statefulSet.createPod(number);
      unitCharm = this.charm(this.statefulSet.templateOf(pod.revision).charmRevision);
    }
    const record: UnitRecord = {
      name,
      number,
      life: "alive",
      charm: unitCharm,
      charmDir: join(this.baseDir, `unit-${this.appName}-${number}`, "charm"),
      status: initialStatus(),
      agentError: undefined,
      workloadVersion: "",
      stateStore: {},
      uniter: freshUniter(),
      transition: undefined,
      incarnation: 0,
    };
    record.uniter.queue.push(
      { kind: "hook", name: "install" },
      { kind: "hook", name: `${PEER_ENDPOINT}-relation-created`, relation: true },
      { kind: "hook", name: "@leader" },
      { kind: "hook", name: "config-changed" },
      { kind: "hook", name: "start" },
    );
    this.unitsByName.set(name, record);
    this.databags.delete(name);
    await rm(dirname(record.charmDir), { recursive: true, force: true });
    await this.writeCharm(record, unitCharm);
    await this.options.observer?.unitCreated?.({ name, number });
    return record;
  }

  private async writeCharm(unit: UnitRecord, charm: LoadedCharm, previous?: LoadedCharm): Promise<void> {
    await mkdir(unit.charmDir, { recursive: true });
    if (previous !== undefined) {
      for (const path of Object.keys(previous.files)) {
        if (!(path in charm.files)) await rm(join(unit.charmDir, path), { force: true });
      }
    }
    for (const [path, content] of Object.entries(charm.files)) {
      const target = join(unit.charmDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { mode: path === charm.source.dispatch ? 0o755 : 0o644 });
    }
    const marker = join(unit.charmDir, ".juju-charm");
    await writeFile(marker, `${jujuCharmUrl(this.appName, charm.source.revision, this.options.charmOrigin ?? "charmhub")}\n`);
    // Charms detect new code by the marker's mtime, so every write gets a strictly later one.
    this.clock += 1000;
    const time = new Date(this.clock);
    await utimes(marker, time, time);
  }

  private setPodReady(unit: UnitRecord): void {
    if (this.statefulSet === undefined) return;
    this.statefulSet.setReady(unit.number, this.health.get(unit.name) !== false);
  }

  /**
   * Kubernetes' StatefulSet controller: picks the next pod to replace, if any, and asks its
   * unit to stop. Runs after every hook and command.
   */
  private reconcile(): void {
    const statefulSet = this.statefulSet;
    if (statefulSet === undefined) return;
    if (this.aliveUnits().some((unit) => unit.transition?.kind === "replace-pod")) return;
    const pod = nextPodToUpdate(statefulSet);
    if (pod === undefined) return;
    const unit = this.aliveUnits().find((candidate) => candidate.number === pod.ordinal);
    if (unit === undefined) return;
    statefulSet.setReady(unit.number, false);
    const skip = this.skipUpgradeOnNextPod.has(unit.name) || this.bugApplies(unit);
    unit.transition = { kind: "replace-pod", runStop: !this.bugApplies(unit), skipUpgradeCharm: skip, stopDone: false };
  }

  /** Applies a due pod replacement or code swap; returns true when it did. */
  private async applyTransition(unit: UnitRecord): Promise<void> {
    const transition = unit.transition;
    if (transition === undefined) return;
    const previous = unit.charm;
    let skipUpgradeCharm = transition.skipUpgradeCharm;
    if (transition.kind === "replace-pod") {
      const statefulSet = this.requireStatefulSet();
      statefulSet.deletePod(unit.number);
      const pod = statefulSet.createPod(unit.number);
      unit.charm = this.charm(statefulSet.templateOf(pod.revision).charmRevision);
      // The pod's emptyDir goes with it: a fresh charm directory, local files lost.
      await rm(dirname(unit.charmDir), { recursive: true, force: true });
      await this.writeCharm(unit, unit.charm);
      unit.uniter.cache.clear();
      unit.uniter.started = false;
      this.skipUpgradeOnNextPod.delete(unit.name);
    } else {
      unit.charm = transition.to;
      await this.writeCharm(unit, transition.to, previous);
      skipUpgradeCharm ||= this.bugApplies(unit);
    }
    unit.transition = undefined;
    unit.incarnation += 1;
    unit.uniter.failed = undefined;
    unit.uniter.failedAttempts = 0;
    unit.agentError = undefined;
    const sequence: HookSpec[] = [];
    if (!skipUpgradeCharm) sequence.push({ kind: "hook", name: "upgrade-charm" });
    if (skipUpgradeCharm) sequence.push({ kind: "hook", name: "@leader-settings-changed-if-follower" }, { kind: "hook", name: "config-changed" });
    else sequence.push({ kind: "hook", name: "config-changed" }, { kind: "hook", name: "@leader-settings-changed-if-follower" });
    sequence.push({ kind: "hook", name: "start" });
    unit.uniter.queue = [...sequence, ...unit.uniter.queue.filter((spec) => spec.name !== "start" && spec.name !== "upgrade-charm")];
  }

  // ---------------------------------------------------------------------------------------
  // internals: the resolver (which hook runs next on a unit)

  private hasWork(unit: UnitRecord): boolean {
    if (unit.life === "removed" || this.running.has(unit.name)) return false;
    if ((this.actionQueues.get(unit.name)?.length ?? 0) > 0) return true;
    if (unit.transition !== undefined) return true;
    return this.nextHook(unit) !== undefined;
  }

  private nextHook(unit: UnitRecord): HookSpec | undefined {
    const uniter = unit.uniter;
    if (uniter.failed !== undefined) {
      const retry = (this.options.retryFailedHooks ?? true) || this.manualRetry.has(unit.name);
      return retry ? uniter.failed : undefined;
    }
    while (uniter.queue.length > 0) {
      const head = uniter.queue[0];
      if (head === undefined) break;
      const resolved = this.resolvePlaceholder(unit, head);
      if (resolved !== undefined) return resolved;
      uniter.queue.shift();
    }
    if (unit.life === "dying") {
      const member = [...uniter.members.keys()].sort(compareUnitNames)[0];
      if (member !== undefined) return { kind: "hook", name: `${PEER_ENDPOINT}-relation-departed`, relation: true, remoteUnit: member, departingUnit: unit.name };
      if (!uniter.stoppedForRemoval) return { kind: "hook", name: "stop" };
      return { kind: "hook", name: "remove" };
    }
    if (!uniter.started) return undefined;
    if (uniter.leaderTermSeen !== this.leaderTerm && this.leaderName !== undefined) {
      return { kind: "hook", name: this.leaderName === unit.name ? "leader-elected" : "leader-settings-changed" };
    }
    if (uniter.configSeen !== this.configGenerationFor(unit)) return { kind: "hook", name: "config-changed" };
    if (uniter.inRelation) {
      const relationHook = this.nextRelationHook(unit);
      if (relationHook !== undefined) return relationHook;
    }
    if (uniter.updateStatusPending) return { kind: "hook", name: "update-status" };
    return undefined;
  }

  private nextRelationHook(unit: UnitRecord): HookSpec | undefined {
    const uniter = unit.uniter;
    const changed = `${PEER_ENDPOINT}-relation-changed`;
    for (const member of [...uniter.members.keys()].sort(compareUnitNames)) {
      if (!this.scope.has(member)) return { kind: "hook", name: `${PEER_ENDPOINT}-relation-departed`, relation: true, remoteUnit: member, departingUnit: member };
    }
    for (const candidate of [...this.scope].sort(compareUnitNames)) {
      if (candidate !== unit.name && !uniter.members.has(candidate)) return { kind: "hook", name: `${PEER_ENDPOINT}-relation-joined`, relation: true, remoteUnit: candidate };
    }
    for (const [member, seen] of [...uniter.members.entries()].sort(([a], [b]) => compareUnitNames(a, b))) {
      if ((this.databags.get(member)?.version ?? 0) !== seen) return { kind: "hook", name: changed, relation: true, remoteUnit: member };
    }
    if (uniter.appVersionSeen !== this.appBag.version) return { kind: "hook", name: changed, relation: true };
    return undefined;
  }

  private resolvePlaceholder(unit: UnitRecord, spec: HookSpec): HookSpec | undefined {
    if (spec.kind !== "hook") return spec;
    if (spec.name === "@leader") return { kind: "hook", name: this.leaderName === unit.name ? "leader-elected" : "leader-settings-changed" };
    if (spec.name === "@leader-settings-changed-if-follower") {
      return this.leaderName === unit.name ? undefined : { kind: "hook", name: "leader-settings-changed" };
    }
    return spec;
  }

  /** Records in the unit's local state that a hook ran successfully. */
  private completeBookkeeping(unit: UnitRecord, spec: HookSpec, snapshot?: HookSnapshot): void {
    const uniter = unit.uniter;
    const head = uniter.queue[0];
    if (head !== undefined && (head.name === spec.name || this.resolvePlaceholder(unit, head)?.name === spec.name) && head.kind === "hook" && head.remoteUnit === (spec.kind === "hook" ? spec.remoteUnit : undefined)) {
      uniter.queue.shift();
    }
    if (spec.kind !== "hook") return;
    switch (spec.name) {
      case `${PEER_ENDPOINT}-relation-created`:
        this.scope.add(unit.name);
        break;
      case "leader-elected":
      case "leader-settings-changed":
        uniter.leaderTermSeen = snapshot?.leaderTerm ?? this.leaderTerm;
        break;
      case "config-changed":
        uniter.configSeen = snapshot?.configGeneration ?? this.configGenerationFor(unit);
        break;
      case "start":
        uniter.started = true;
        this.setPodReady(unit);
        break;
      case "update-status":
        uniter.updateStatusPending = false;
        break;
      case "stop":
        if (unit.life === "dying") uniter.stoppedForRemoval = true;
        break;
      case "remove":
        this.finishRemoval(unit);
        break;
      case `${PEER_ENDPOINT}-relation-joined`:
        if (spec.remoteUnit !== undefined) {
          uniter.members.set(spec.remoteUnit, -1);
          uniter.queue.unshift({ kind: "hook", name: `${PEER_ENDPOINT}-relation-changed`, relation: true, remoteUnit: spec.remoteUnit });
        }
        break;
      case `${PEER_ENDPOINT}-relation-changed`:
        if (spec.remoteUnit === undefined) uniter.appVersionSeen = snapshot?.appVersion ?? this.appBag.version;
        else if (uniter.members.has(spec.remoteUnit)) uniter.members.set(spec.remoteUnit, snapshot?.remoteVersion ?? 0);
        break;
      case `${PEER_ENDPOINT}-relation-departed`:
        if (spec.remoteUnit !== undefined) {
          uniter.members.delete(spec.remoteUnit);
          uniter.cache.delete(spec.remoteUnit);
        }
        break;
    }
  }

  /**
   * Scale-down takes pods away for good. A driver with `removePod` (whose `deletePod`
   * recreates pods) can only drop the highest pod, so pods go from the top down as soon as
   * their units are removed; a lower unit that finishes first waits for the ones above it.
   */
  private removePods(statefulSet: StatefulSetDriver, unit: UnitRecord): void {
    if (statefulSet.removePod === undefined) {
      statefulSet.deletePod(unit.number);
      return;
    }
    const removed = new Set([...this.unitsByName.values()].filter((record) => record.life === "removed").map((record) => record.number));
    for (;;) {
      const top = statefulSet.pods().reduce<number | undefined>((highest, pod) => (highest === undefined || pod.ordinal > highest ? pod.ordinal : highest), undefined);
      if (top === undefined || !removed.has(top)) return;
      statefulSet.removePod(top);
    }
  }

  private finishRemoval(unit: UnitRecord): void {
    unit.life = "removed";
    this.actionQueues.delete(unit.name);
    if (this.statefulSet !== undefined) this.removePods(this.statefulSet, unit);
    this.options.observer?.unitRemoved?.({ name: unit.name, number: unit.number });
    if (this.leaderName === unit.name) {
      const candidates = this.aliveUnits().map((u) => u.name);
      this.leaderName = candidates.length > 0 ? this.random.pick(candidates) : undefined;
      this.leaderTerm += 1;
    }
  }

  // ---------------------------------------------------------------------------------------
  // internals: the scheduler

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async quiesce(): Promise<void> {
    const timeoutMs = this.options.hookTimeoutMs ?? 30_000;
    for (;;) {
      const active = [...this.running.values()].filter((run) => run.state === "active");
      if (active.length === 0) return;
      const oldest = Math.min(...active.map((run) => run.startedAt));
      const remaining = oldest + timeoutMs - Date.now();
      if (remaining <= 0) {
        for (const run of active) if (Date.now() - run.startedAt >= timeoutMs) run.tools?.kill(`no tool call or exit within ${timeoutMs} ms`);
        throw new SimulatorError("SIM_HOOK_TIMEOUT", `a hook on ${active.map((run) => run.unit.name).join(", ")} neither called a hook tool nor ended within ${timeoutMs} ms; look for an await that never resolves in the charm`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** One scheduling decision: resume a parked hook or start a unit's next hook. */
  private async advance(): Promise<boolean> {
    await this.quiesce();
    const parked = [...this.running.values()].filter((run) => run.state === "parked").sort((a, b) => a.unit.number - b.unit.number);
    const serial = this.options.concurrency === "serial";
    const idle = serial && this.running.size > 0 ? [] : this.aliveUnits(true).filter((unit) => this.hasWork(unit));
    const choices: (() => void)[] = [
      ...parked.map((run) => () => this.resume(run)),
      ...idle.map((unit) => () => this.startTurn(unit)),
    ];
    if (choices.length === 0) return false;
    this.random.pick(choices)();
    await this.quiesce();
    return true;
  }

  private startTurn(unit: UnitRecord): void {
    const run: RunningHook = { unit, state: "active", waiting: [], startedAt: Date.now(), tools: undefined, spec: undefined };
    this.running.set(unit.name, run);
    const finish = (): void => {
      run.state = "done";
      this.running.delete(unit.name);
      // A process may exit while one of its tool clients still waits; let that call end.
      for (const wake of run.waiting.splice(0)) wake();
      this.reconcile();
      this.notify();
    };
    this.runTurn(run).then(finish, (error: unknown) => {
      finish();
      // A simulator bug, not a charm failure: surface it loudly in the log and history.
      this.logs.push({ step: this.stepCounter, unit: unit.name, hook: "(simulator)", level: "ERROR", message: String(error) });
    });
  }

  private async runTurn(run: RunningHook): Promise<void> {
    const unit = run.unit;
    const actions = this.actionQueues.get(unit.name) ?? [];
    const action = actions.shift();
    if (action !== undefined) {
      await this.execute(run, action.spec);
      return;
    }
    const transition = unit.transition;
    if (transition !== undefined) {
      if (transition.kind === "replace-pod" && transition.runStop && !transition.stopDone) {
        await this.execute(run, { kind: "hook", name: "stop" });
        transition.stopDone = true;
        return;
      }
      await this.applyTransition(unit);
    }
    const spec = this.nextHook(unit);
    if (spec !== undefined) await this.execute(run, spec);
  }

  private membersView(unit: UnitRecord, spec: HookSpec): string[] {
    const members = new Set(unit.uniter.members.keys());
    if (spec.kind === "hook" && spec.remoteUnit !== undefined) {
      if (spec.name.endsWith("-relation-joined")) members.add(spec.remoteUnit);
      if (spec.name.endsWith("-relation-departed")) members.delete(spec.remoteUnit);
    }
    return [...members];
  }

  private hookHost(unit: UnitRecord, run: RunningHook): HookHost {
    return {
      appName: this.appName,
      relationNumber: this.relationNumber,
      staleRemoteReads: this.options.staleRemoteReads ?? true,
      leader: () => this.leaderName,
      config: (target) => this.effectiveConfig(target),
      goalState: () => this.goalState(),
      unitDatabag: (name) => this.databags.get(name),
      appDatabag: () => this.appBag,
      appStatus: () => this.appStatusValue,
      setAppStatus: (value) => {
        this.appStatusValue = value;
      },
      setUnitStatus: (target, value) => {
        target.status = value;
      },
      setWorkloadVersion: (target, version) => {
        target.workloadVersion = version;
      },
      log: (target, level, message) => this.logs.push({ step: this.stepCounter + 1, unit: target.name, hook: currentHookName(run), level, message }),
      resourcePath: (target, name) => this.resourcePath(target, name),
      unitStatuses: () => Object.fromEntries(this.aliveUnits(true).map((target) => [target.name, this.unitStatus(target.name)])),
      yieldPoint: () => this.park(run),
    };
  }

  private park(run: RunningHook): Promise<void> {
    if (this.running.get(run.unit.name) !== run) return Promise.resolve();
    return new Promise<void>((resolve) => {
      run.waiting.push(resolve);
      run.state = "parked";
      this.notify();
    });
  }

  /**
   * Lets the oldest waiting call of a parked hook go on. With more calls still waiting the
   * hook stays parked (it is blocked on them); otherwise it runs until its next yield point.
   */
  private resume(run: RunningHook): void {
    const wake = run.waiting.shift();
    if (run.waiting.length === 0) {
      run.state = "active";
      run.startedAt = Date.now();
    }
    wake?.();
  }

  private goalState(): GoalState {
    const units: Record<string, { status: string; since: string }> = {};
    const relation: Record<string, { status: string; since: string }> = { [this.appName]: { status: "joined", since: since(this.clock) } };
    for (const unit of this.aliveUnits(true)) {
      const status = unit.life === "dying" ? "dying" : unit.uniter.started ? "active" : "waiting";
      units[unit.name] = { status, since: since(this.clock) };
      if (this.scope.has(unit.name) || unit.life === "dying") relation[unit.name] = { status: unit.life === "dying" ? "dying" : "joined", since: since(this.clock) };
    }
    return { units, relations: { [PEER_ENDPOINT]: relation } };
  }

  private hookContext(unit: UnitRecord, spec: HookSpec): HookContext {
    const relationHook = spec.kind === "hook" && spec.relation === true;
    return {
      event: spec.kind === "action" ? { kind: "action", name: spec.name, id: spec.id } : { kind: "hook", name: spec.name },
      unitName: unit.name,
      appName: this.appName,
      unitNumber: unit.number,
      modelName: this.modelName,
      modelUuid: this.modelUuid,
      jujuVersion: this.options.jujuVersion ?? "3.6.4",
      charmDir: unit.charmDir,
      relation: relationHook ? { endpoint: PEER_ENDPOINT, id: `${PEER_ENDPOINT}:${this.relationNumber}` } : undefined,
      remoteUnit: spec.kind === "hook" ? spec.remoteUnit : undefined,
      remoteApp: relationHook ? this.appName : undefined,
      departingUnit: spec.kind === "hook" ? spec.departingUnit : undefined,
      environment: { ...(this.options.environment ?? {}), ...(this.options.unitEnvironment?.(unit.name) ?? {}) },
    };
  }

  private async execute(run: RunningHook, spec: HookSpec): Promise<void> {
    const unit = run.unit;
    const fault = spec.kind === "hook" ? this.faults.get(unit.name) : undefined;
    if (fault !== undefined) this.faults.delete(unit.name);
    if (spec.kind === "hook" && spec.remoteUnit !== undefined && /-relation-(joined|changed)$/.test(spec.name)) {
      // Juju drops its cached copy just before delivering a hook about that unit.
      unit.uniter.cache.delete(spec.remoteUnit);
    }
    if (spec.kind === "hook" && spec.name === `${PEER_ENDPOINT}-relation-created`) {
      unit.uniter.inRelation = true;
      if (!this.databags.has(unit.name)) this.databags.set(unit.name, { data: jujuManagedKeys(unit.number), version: ++this.versionCounter });
    }
    const snapshot: HookSnapshot = {
      leaderTerm: this.leaderTerm,
      configGeneration: this.configGenerationFor(unit),
      appVersion: this.appBag.version,
      remoteVersion: spec.kind === "hook" && spec.remoteUnit !== undefined ? (this.databags.get(spec.remoteUnit)?.version ?? 0) : 0,
    };
    const tools = new SimulatedHookTools(this.hookHost(unit, run), unit, spec, this.membersView(unit, spec), { failAtCall: fault?.atToolCall });
    run.tools = tools;
    run.spec = spec;
    const context = this.hookContext(unit, spec);
    let failure: string | undefined;
    let processStderr: string | undefined;
    let processMs: number | undefined;
    try {
      const code = unit.charm.source;
      if (code.handler !== undefined) {
        await code.handler({ context, tools, log: this.logger(unit, context) });
      } else if (code.dispatch !== undefined && this.options.dispatcher !== undefined) {
        const executable = isAbsolute(code.dispatch) ? code.dispatch : join(unit.charmDir, code.dispatch);
        const result = await this.options.dispatcher({
          executable,
          charmDir: unit.charmDir,
          environment: buildHookEnvironment(context),
          tools,
          timeoutMs: this.options.hookTimeoutMs ?? 30_000,
          relations: unit.uniter.inRelation ? [`${PEER_ENDPOINT}:${this.relationNumber}`] : [],
          unit: unit.name,
        });
        processStderr = result.stderr;
        processMs = result.durationMs;
        if (result.exitCode !== 0) failure = `exit status ${result.exitCode}${result.stderr.trim() === "" ? "" : `: ${failureSummary(result.stderr)}`}`;
      } else {
        failure = "the charm has no handler, and no dispatcher was given to run its dispatch";
      }
    } catch (error) {
      failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (tools.killed !== undefined) failure ??= tools.killed;
    if (failure === undefined && fault !== undefined && fault.atToolCall === undefined) failure = "fault injected: the hook exited non-zero";
    if (failure === undefined && Object.keys(tools.buffers.appChanges).length > 0 && this.leaderName !== unit.name) {
      failure = "committing the hook's changes failed: this unit lost leadership before the app databag write was committed";
    }
    this.stepCounter += 1;
    this.clock += 1000;
    if (failure === undefined) this.commit(unit, tools);
    if (spec.kind === "action") {
      this.finishAction(unit, spec, tools, failure);
    } else if (failure === undefined) {
      unit.uniter.failed = undefined;
      unit.uniter.failedAttempts = 0;
      unit.agentError = undefined;
      this.manualRetry.delete(unit.name);
      this.completeBookkeeping(unit, spec, snapshot);
    } else {
      unit.uniter.failed = spec;
      unit.uniter.failedAttempts += 1;
      unit.agentError = `hook failed: "${spec.name}"`;
      this.manualRetry.delete(unit.name);
    }
    this.history.push({
      step: this.stepCounter,
      unit: unit.name,
      hook: hookLabel(spec),
      remoteUnit: spec.kind === "hook" ? spec.remoteUnit : undefined,
      charmRevision: unit.charm.source.revision,
      outcome: failure === undefined ? "succeeded" : "failed",
      error: failure,
      toolCalls: Object.fromEntries(tools.calls),
      ...(processStderr === undefined || processStderr === "" ? {} : { stderr: processStderr }),
      ...(processMs === undefined ? {} : { processMs }),
    });
    this.checkInvariants(unit, spec);
  }

  private commit(unit: UnitRecord, tools: SimulatedHookTools): void {
    const { unitChanges, appChanges, stateChanges } = tools.buffers;
    // A unit that has left the relation (removed, or departing) no longer propagates its writes.
    const bag = this.databags.get(unit.name);
    if (bag !== undefined && Object.keys(unitChanges).length > 0 && unit.uniter.inRelation) {
      if (applyChanges(bag.data, unitChanges) && this.scope.has(unit.name)) bag.version = ++this.versionCounter;
    }
    if (Object.keys(appChanges).length > 0 && applyChanges(this.appBag.data, appChanges)) {
      this.appBag.version = ++this.versionCounter;
      // The writer never gets -relation-changed for its own app databag write.
      unit.uniter.appVersionSeen = this.appBag.version;
    }
    applyStateChanges(unit.stateStore, stateChanges);
  }

  private finishAction(unit: UnitRecord, spec: Extract<HookSpec, { kind: "action" }>, tools: SimulatedHookTools, failure: string | undefined): void {
    const failedMessage = tools.buffers.actionFailure ?? failure;
    this.actions.set(spec.id, {
      id: spec.id,
      unit: unit.name,
      name: spec.name,
      status: failedMessage === undefined ? "completed" : "failed",
      results: nestActionResults(tools.buffers.actionResults),
      message: failedMessage,
      logs: [...tools.buffers.actionLogs],
    });
  }

  private checkInvariants(unit: UnitRecord, spec: HookSpec): void {
    for (const invariant of this.invariants) {
      let explanation: string | undefined;
      try {
        explanation = invariant.check(this) ?? undefined;
      } catch (error) {
        explanation = `the invariant itself threw: ${String(error)}`;
      }
      if (explanation !== undefined) {
        this.violations.push({ step: this.stepCounter, afterHook: hookLabel(spec), unit: unit.name, invariant: invariant.name, explanation });
      }
    }
  }

  private logger(unit: UnitRecord, context: HookContext): Logger {
    const write = (level: string) => (message: string) => {
      this.logs.push({ step: this.stepCounter + 1, unit: unit.name, hook: context.event.name, level, message });
    };
    return { debug: write("DEBUG"), info: write("INFO"), warning: write("WARNING"), error: write("ERROR") };
  }

  private notSettledError(reason: string): SimulatorError {
    const recent = this.history
      .slice(-15)
      .map((record) => `  #${record.step} ${record.unit} ${record.hook}${record.remoteUnit === undefined ? "" : ` (${record.remoteUnit})`}: ${record.outcome}${record.error === undefined ? "" : ` — ${record.error}`}`)
      .join("\n");
    return new SimulatorError("SIM_NOT_SETTLED", `${reason} (seed ${this.random.seed}). Last hooks:\n${recent}\n\n${this.statusTable()}`, {
      resolution: "look for a hook that fails on every retry or a charm that keeps changing its databag, or raise maxSteps",
    });
  }
}

interface HookSnapshot {
  readonly leaderTerm: number;
  readonly configGeneration: number;
  readonly appVersion: number;
  readonly remoteVersion: number;
}

/**
 * The readable part of a failed process's stderr: its lines up to the first stack frame (the
 * error message, however many lines it has), or its last line when it starts with one.
 */
function failureSummary(stderr: string): string {
  const lines = stderr.trim().split("\n");
  const firstFrame = lines.findIndex((line) => /^\s+at /.test(line));
  const message = firstFrame < 0 ? lines : lines.slice(0, firstFrame);
  return message.length > 0 ? message.join("\n") : (lines.at(-1) ?? "");
}

function currentHookName(run: RunningHook): string {
  return run.spec === undefined ? "" : hookLabel(run.spec);
}

function since(clock: number): string {
  return new Date(clock).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function imageOf(charm: LoadedCharm): string {
  return charm.source.image ?? `registry.example/workload@sha256:${charm.source.revision.toString(16).padStart(64, "0")}`;
}

function jujuManagedKeys(number: number): Record<string, string> {
  const address = `10.1.0.${10 + number}`;
  return { "private-address": address, "ingress-address": address, "egress-subnets": `${address}/32` };
}

/**
 * The `JUJU_*` environment Juju gives a hook or action, built from a {@link HookContext}: the
 * same builder as process mode's `buildJujuEnvironment` (one source of truth), with the
 * context's extra `environment` passed through. Process mode adds `PATH` (hook tools first)
 * and the agent socket variables.
 */
export function buildHookEnvironment(context: HookContext): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.environment)) if (value !== undefined) extra[key] = value;
  return buildJujuEnvironment({ ...context, extra });
}
