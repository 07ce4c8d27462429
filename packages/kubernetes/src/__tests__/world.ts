/**
 * A small, deterministic model of one Kubernetes Juju application for the substrate's own
 * tests: a StatefulSet with RollingUpdate partition rules, pods with emptyDir charm
 * directories, a peer relation whose writes commit only when the hook succeeds, leadership,
 * config and actions. The simulator in `@refresh/testing` is the full-featured version; this
 * one keeps the class-level tests fast and independent of it.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HookToolFailed, type CharmRun, type DatabagOwner, type HookContext, type HookTools, type JujuEvent, type LogLevel, type Logger, type SettableStatus } from "@refresh/juju";
import type { KubernetesApi, PodState, StatefulSetState } from "../api.js";
import { KubernetesApiError } from "../errors.js";
import { IMAGE, testCharmMetadata } from "./charm-metadata.js";

/** What one ControllerRevision runs: charm files and the workload image Juju was given. */
export interface RevisionSpec {
  /** `refresh_versions.toml` `charm` key. */
  readonly charmVersion: string;
  /** `refresh_versions.toml` `workload` key. */
  readonly workloadVersion: string;
  /** Digest pinned in metadata.yaml. */
  readonly pinDigest: string;
  /** Digest of the image the pod actually runs (the OCI resource given to `juju refresh`). */
  readonly imageDigest: string;
  /** Charmhub revision number (`.juju-charm`). */
  readonly charmhubRevision: number;
}

export interface Pod {
  readonly ordinal: number;
  readonly uid: string;
  readonly revision: string;
  readonly charmDir: string;
  ready: boolean;
  /** The workload process runs (as the test charm started it). */
  workloadRunning: boolean;
}

export interface ActionRecord {
  readonly unit: number;
  readonly name: string;
  failed: string | undefined;
  result: Record<string, string> | undefined;
  logs: string[];
}

export interface EventOutcome {
  readonly error: unknown;
  readonly toolCalls: Record<string, number>;
  readonly requests: Record<string, number>;
  readonly action: ActionRecord | undefined;
}

/** Knobs for API failures in the next requests. */
export type ApiFault = "forbidden-review" | "server-error" | "timeout";

export class World {
  readonly app = "db";
  readonly revisions = new Map<string, RevisionSpec>();
  readonly pods = new Map<number, Pod>();
  updateRevision = "";
  currentRevision = "";
  partition = 0;
  replicas: number;
  leader = 0;
  trusted = true;
  config: Record<string, unknown> = { "pause-after-unit-refresh": "first" };
  relationCreated = new Set<number>();
  readonly unitDatabags = new Map<number, Record<string, string>>();
  appDatabag: Record<string, string> = {};
  readonly unitStatuses = new Map<number, { status: SettableStatus; message: string }>();
  appStatus: { status: SettableStatus; message: string } | undefined;
  appVersion = "";
  readonly logs: { unit: number; level: LogLevel; message: string }[] = [];
  readonly actions: ActionRecord[] = [];
  /** Every partition the API was asked to set, with who asked and whether that unit led. */
  readonly patches: { unit: number; from: number; partition: number; leader: boolean; hook: string }[] = [];
  faults: ApiFault[] = [];
  /** Units whose `application-version-set` fails (the unit agent refuses it) while they are listed. */
  readonly failingVersionSet = new Set<number>();
  /** Pods the API server no longer lists (deleted) although their unit still runs a hook. */
  readonly deletedPods = new Set<number>();
  /** Runs before every API request, to change the world between an event's reads. */
  beforeRequest: ((name: string) => void) | undefined;
  private revisionCounter = 0;
  private uidCounter = 0;
  private root = "";

  constructor(replicas: number) {
    this.replicas = replicas;
  }

  static async create(replicas: number, initial: RevisionSpec): Promise<World> {
    const world = new World(replicas);
    world.root = await mkdtemp(join(tmpdir(), "k8s-world-"));
    world.updateRevision = world.addRevision(initial);
    world.currentRevision = world.updateRevision;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      await world.createPod(ordinal);
      world.relationCreated.add(ordinal);
    }
    return world;
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  addRevision(spec: RevisionSpec): string {
    this.revisionCounter += 1;
    const name = `${this.app}-rev${this.revisionCounter}`;
    this.revisions.set(name, spec);
    return name;
  }

  /** `juju refresh`: a new template, hence a new update revision. */
  jujuRefresh(spec: RevisionSpec): string {
    this.updateRevision = this.addRevision(spec);
    return this.updateRevision;
  }

  get inProgress(): boolean {
    return [...this.pods.values()].some((pod) => pod.revision !== this.updateRevision);
  }

  unitsHighestFirst(): Pod[] {
    return [...this.pods.values()].sort((a, b) => b.ordinal - a.ordinal);
  }

  /** Creates a pod the way the StatefulSet controller does: at the update revision when at or above the partition. */
  async createPod(ordinal: number): Promise<Pod> {
    this.uidCounter += 1;
    const revision = ordinal >= this.partition ? this.updateRevision : this.currentRevision;
    const charmDir = join(this.root, `pod-${ordinal}-${this.uidCounter}`);
    await mkdir(charmDir, { recursive: true });
    const spec = this.spec(revision);
    await writeFile(join(charmDir, "refresh_versions.toml"), `charm = "${spec.charmVersion}"\nworkload = "${spec.workloadVersion}"\n`);
    await writeFile(join(charmDir, "metadata.yaml"), testCharmMetadata(spec.pinDigest));
    await writeFile(join(charmDir, ".juju-charm"), `ch:amd64/noble/db-${spec.charmhubRevision}\n`);
    const pod: Pod = { ordinal, uid: `uid-${this.uidCounter}`, revision, charmDir, ready: false, workloadRunning: false };
    this.pods.set(ordinal, pod);
    return pod;
  }

  spec(revision: string): RevisionSpec {
    const spec = this.revisions.get(revision);
    if (spec === undefined) throw new Error(`unknown revision ${revision}`);
    return spec;
  }

  /**
   * The pod the StatefulSet controller replaces next, if it may now: the highest pod at or
   * above the partition that is not on the update revision, provided every updated pod above
   * it is ready.
   */
  nextPodToReplace(): Pod | undefined {
    for (const pod of this.unitsHighestFirst()) {
      if (pod.ordinal < this.partition) return undefined;
      if (pod.revision !== this.updateRevision) return pod;
      if (!pod.ready) return undefined;
    }
    return undefined;
  }

  /** Deletes a pod and recreates it (new UID, fresh emptyDir), at the revision the partition dictates. */
  async recreatePod(ordinal: number): Promise<Pod> {
    this.pods.delete(ordinal);
    const pod = await this.createPod(ordinal);
    if (!this.inProgress) this.currentRevision = this.updateRevision;
    return pod;
  }

  settle(): void {
    if (!this.inProgress) this.currentRevision = this.updateRevision;
  }

  api(unit: number, hook: () => string, requests: Record<string, number>): KubernetesApi {
    const count = (name: string): void => {
      requests[name] = (requests[name] ?? 0) + 1;
      this.beforeRequest?.(name);
      const fault = this.faults.shift();
      if (fault === "server-error") throw new KubernetesApiError("KUBERNETES_SERVER_ERROR", "the fake API server failed (500)", { status: 500 });
      if (fault === "timeout") throw new KubernetesApiError("KUBERNETES_TIMEOUT", "the fake API server did not answer in time");
      if (fault === "forbidden-review") this.faults.unshift(fault);
    };
    const statefulSet = (): StatefulSetState => ({ updateRevision: this.updateRevision, partition: this.partition });
    return {
      mayPatchStatefulSet: async () => {
        count("review");
        return this.trusted;
      },
      readStatefulSet: async () => {
        count("readStatefulSet");
        return statefulSet();
      },
      listPods: async () => {
        count("listPods");
        return this.unitsHighestFirst().filter((pod) => !this.deletedPods.has(pod.ordinal)).map(
          (pod): PodState => ({
            name: `${this.app}-${pod.ordinal}`,
            uid: pod.uid,
            controllerRevision: pod.revision,
            containers: [
              { name: "charm", imageId: "registry.example/charm-base@sha256:c0ffee" },
              { name: "database", imageId: `${IMAGE}@${this.spec(pod.revision).imageDigest}` },
            ],
          }),
        );
      },
      patchPartition: async (partition) => {
        count("patchPartition");
        if (!this.trusted) throw new KubernetesApiError("KUBERNETES_FORBIDDEN", "forbidden", { status: 403 });
        this.patches.push({ unit, from: this.partition, partition, leader: this.leader === unit, hook: hook() });
        this.partition = partition;
        return statefulSet();
      },
    };
  }

  /**
   * Runs one event on a unit: builds the hook context and tools, runs `handler`, and commits
   * the unit's relation writes only when the handler succeeds (as Juju does).
   */
  async run(
    unit: number,
    event: { hook?: string; action?: { name: string; params?: Record<string, unknown> }; departingUnit?: number },
    handler: (run: CharmRun, api: KubernetesApi) => Promise<void>,
  ): Promise<EventOutcome> {
    const pod = this.pods.get(unit);
    if (pod === undefined) throw new Error(`no pod for unit ${unit}`);
    const unitName = `${this.app}/${unit}`;
    const toolCalls: Record<string, number> = {};
    const requests: Record<string, number> = {};
    const pendingUnit: Record<string, string | null> = {};
    const pendingApp: Record<string, string | null> = {};
    const action: ActionRecord | undefined =
      event.action === undefined ? undefined : { unit, name: event.action.name, failed: undefined, result: undefined, logs: [] };
    if (action !== undefined) this.actions.push(action);
    const relationExists = this.relationCreated.has(unit);
    const relationId = "refresh-v-three:1";
    const leaderNow = (): boolean => this.leader === unit;
    const tally = (name: string): void => {
      toolCalls[name] = (toolCalls[name] ?? 0) + 1;
    };
    const needRelation = (relation: string): void => {
      if (!relationExists || relation !== relationId) throw new Error(`relation not found: ${relation}`);
    };
    const withPending = (base: Record<string, string>, pending: Record<string, string | null>): Record<string, string> => {
      const merged = { ...base };
      for (const [key, value] of Object.entries(pending)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      return merged;
    };
    const notUsed = (name: string) => async (): Promise<never> => {
      throw new Error(`${name} is not used by the Kubernetes substrate`);
    };
    const tools: HookTools = {
      relationIds: async (endpoint) => (tally("relation-ids"), endpoint === "refresh-v-three" && relationExists ? [relationId] : []),
      relationList: async (relation) => {
        tally("relation-list");
        needRelation(relation);
        return [...this.relationCreated].filter((other) => other !== unit && this.pods.has(other)).map((other) => `${this.app}/${other}`);
      },
      relationListApp: async () => (tally("relation-list-app"), this.app),
      relationGet: async (relation, owner: DatabagOwner) => {
        tally("relation-get");
        needRelation(relation);
        if ("app" in owner) return leaderNow() ? withPending(this.appDatabag, pendingApp) : { ...this.appDatabag };
        const other = Number(owner.unit.split("/")[1]);
        if (other === unit) return withPending(this.unitDatabags.get(unit) ?? {}, pendingUnit);
        return { ...(this.unitDatabags.get(other) ?? {}) };
      },
      relationSet: async (relation, changes, options) => {
        tally("relation-set");
        needRelation(relation);
        if (options?.app === true) {
          if (!leaderNow()) throw new Error("cannot write relation settings");
          Object.assign(pendingApp, changes);
        } else {
          Object.assign(pendingUnit, changes);
        }
      },
      isLeader: async () => (tally("is-leader"), leaderNow()),
      configGet: async () => (tally("config-get"), { ...this.config }),
      goalState: notUsed("goal-state"),
      statusSet: async (value, options) => {
        tally("status-set");
        if (options?.application === true) {
          if (!leaderNow()) throw new Error("this unit is not the leader");
          this.appStatus = value;
        } else this.unitStatuses.set(unit, value);
      },
      statusGet: notUsed("status-get"),
      applicationVersionSet: async (version) => {
        tally("application-version-set");
        if (this.failingVersionSet.has(unit)) throw new HookToolFailed("application-version-set", 1, "connection to the unit agent lost");
        this.appVersion = version;
      },
      actionGet: async () => (tally("action-get"), { ...(event.action?.params ?? {}) }),
      actionSet: async (results) => {
        tally("action-set");
        if (action === undefined) throw new Error("not running an action");
        action.result = { ...(action.result ?? {}), ...results };
      },
      actionFail: async (message) => {
        tally("action-fail");
        if (action === undefined) throw new Error("not running an action");
        action.failed = message;
      },
      actionLog: async (message) => {
        tally("action-log");
        if (action === undefined) throw new Error("not running an action");
        action.logs.push(message);
      },
      jujuLog: async (level, message) => {
        tally("juju-log");
        this.logs.push({ unit, level, message });
      },
      stateGet: notUsed("state-get"),
      stateSet: notUsed("state-set"),
      resourceGet: notUsed("resource-get"),
    };
    const log: Logger = {
      debug: (message) => void tools.jujuLog("DEBUG", message),
      info: (message) => void tools.jujuLog("INFO", message),
      warning: (message) => void tools.jujuLog("WARNING", message),
      error: (message) => void tools.jujuLog("ERROR", message),
    };
    const jujuEvent: JujuEvent =
      event.action !== undefined ? { kind: "action", name: event.action.name, id: "1" } : { kind: "hook", name: event.hook ?? "update-status" };
    const context: HookContext = {
      event: jujuEvent,
      unitName,
      appName: this.app,
      unitNumber: unit,
      modelName: "model",
      modelUuid: "uuid",
      jujuVersion: "3.6.4",
      charmDir: pod.charmDir,
      relation: undefined,
      remoteUnit: undefined,
      remoteApp: undefined,
      departingUnit: event.departingUnit === undefined ? undefined : `${this.app}/${event.departingUnit}`,
      environment: {},
    };
    const hookName = event.hook ?? "";
    let error: unknown;
    try {
      await handler({ context, tools, log }, this.api(unit, () => hookName, requests));
    } catch (caught) {
      error = caught;
    }
    // Juju commits relation writes only when the hook exits successfully. Expected library
    // exceptions are caught by the charm, so the hook succeeds.
    if (error === undefined || isExpected(error)) {
      this.unitDatabags.set(unit, withPending(this.unitDatabags.get(unit) ?? {}, pendingUnit));
      if (Object.keys(pendingApp).length > 0) this.appDatabag = withPending(this.appDatabag, pendingApp);
      pod.ready = true;
    }
    return { error, toolCalls, requests, action };
  }
}

function isExpected(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    "code" in error &&
    ["PEER_RELATION_NOT_READY", "UNIT_TEARING_DOWN", "KUBERNETES_JUJU_APP_NOT_TRUSTED"].includes(String(error.code))
  );
}
