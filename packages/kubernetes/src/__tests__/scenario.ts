/**
 * A test charm on top of {@link World}, and the invariants the spec asks to hold after every
 * step. The charm does what the integration docs tell charm authors to do: build the refresh
 * object first, catch the three expected exceptions, start the workload only when allowed,
 * declare itself healthy once it runs, and show the library's statuses.
 */
import { PrecheckFailed, type RefreshError } from "@refresh/core";
import type { CompatibilityInput } from "@refresh/core";
import { Kubernetes, type CharmSpecificKubernetes } from "../kubernetes.js";
import type { EventOutcome, RevisionSpec } from "./world.js";
import { World } from "./world.js";

export const PIN_A = "sha256:aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000";
export const PIN_B = "sha256:bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111";
export const PIN_C = "sha256:cccc2222cccc2222cccc2222cccc2222cccc2222cccc2222cccc2222cccc2222";

export const V1: RevisionSpec = { charmVersion: "14/1.0.0", workloadVersion: "14.9", pinDigest: PIN_A, imageDigest: PIN_A, charmhubRevision: 10 };
export const V2: RevisionSpec = { charmVersion: "14/1.1.0", workloadVersion: "14.10", pinDigest: PIN_B, imageDigest: PIN_B, charmhubRevision: 11 };
export const V3: RevisionSpec = { charmVersion: "14/1.2.0", workloadVersion: "14.11", pinDigest: PIN_C, imageDigest: PIN_C, charmhubRevision: 12 };
/** A new major version: incompatible under the default rule. */
export const V_MAJOR: RevisionSpec = { charmVersion: "14/2.0.0", workloadVersion: "14.10", pinDigest: PIN_B, imageDigest: PIN_B, charmhubRevision: 13 };
/** `juju refresh --revision` without `--resource`: new charm, old image. */
export const V2_WRONG_IMAGE: RevisionSpec = { ...V2, imageDigest: PIN_A };

/** How the test charm behaves. */
export interface CharmBehaviour {
  /** Message of a failing pre-refresh check, or undefined when the checks pass. */
  precheckFailure?: string;
  /** Units whose workload starts but never becomes healthy. */
  unhealthyUnits?: Set<number>;
  isCompatible?: (input: CompatibilityInput) => boolean;
}

/** The last `Kubernetes` object each unit built, to read its properties in assertions. */
export type Built = Map<number, Kubernetes>;

export class Scenario {
  readonly built: Built = new Map();
  readonly violations: string[] = [];
  behaviour: CharmBehaviour = {};
  precheckCalls = 0;
  /** Set once the user forced past checks or health: relaxes the health-ahead invariant. */
  forced = false;
  private nextTime = 1_700_000_000;

  private constructor(readonly world: World) {}

  static async create(replicas: number, initial: RevisionSpec = V1): Promise<Scenario> {
    return new Scenario(await World.create(replicas, initial));
  }

  async dispose(): Promise<void> {
    await this.world.dispose();
  }

  charmSpecific(): CharmSpecificKubernetes {
    const behaviour = this.behaviour;
    return {
      workloadName: "Database",
      charmName: "db-k8s",
      ociResourceName: "db-image",
      runPreRefreshChecksAfterFirstUnitRefreshed: () => {
        this.precheckCalls += 1;
        if (behaviour.precheckFailure !== undefined) throw new PrecheckFailed(behaviour.precheckFailure);
      },
      ...(behaviour.isCompatible === undefined ? {} : { isCompatible: behaviour.isCompatible }),
    };
  }

  /** Runs one event through the test charm, then checks every invariant. */
  async event(
    unit: number,
    event: { hook?: string; action?: { name: string; params?: Record<string, unknown> }; departingUnit?: number } = {},
  ): Promise<EventOutcome> {
    const world = this.world;
    const outcome = await world.run(unit, event, async (run, api) => {
      const pod = world.pods.get(unit);
      if (pod === undefined) throw new Error("pod vanished");
      let refresh: Kubernetes;
      try {
        refresh = await Kubernetes.create(run, this.charmSpecific(), { api, now: () => (this.nextTime += 1) });
      } catch (error) {
        const code = (error as RefreshError).code;
        if (code === "PEER_RELATION_NOT_READY" || code === "UNIT_TEARING_DOWN") {
          if (code === "UNIT_TEARING_DOWN") pod.workloadRunning = false;
        }
        this.built.delete(unit);
        throw error;
      }
      this.built.set(unit, refresh);
      if (refresh.workloadAllowedToStart) {
        pod.workloadRunning = true;
        if (!(this.behaviour.unhealthyUnits?.has(unit) ?? false) && !refresh.nextUnitAllowedToRefresh) {
          await refresh.allowNextUnitToRefresh();
        }
      } else {
        pod.workloadRunning = false;
      }
      const unitStatus = refresh.unitStatusHigherPriority ?? refresh.unitStatusLowerPriority({ workloadIsRunning: pod.workloadRunning }) ?? { kind: "active" as const, message: "" };
      await run.tools.statusSet({ status: unitStatus.kind, message: unitStatus.message });
      if (world.leader === unit) {
        const appStatus = refresh.appStatusHigherPriority ?? { kind: "active" as const, message: "" };
        await run.tools.statusSet({ status: appStatus.kind, message: appStatus.message }, { application: true });
      }
    });
    if (event.action?.name === "force-refresh-start" && outcome.action?.result !== undefined) this.forced = true;
    if (event.action?.name === "resume-refresh" && event.action.params?.["check-health-of-refreshed-units"] === false) this.forced = true;
    this.checkInvariants(`unit ${unit} ${event.action?.name ?? event.hook ?? "update-status"}`);
    return outcome;
  }

  /** Every unit (highest first, leader last) runs an ordinary event. */
  async everyUnit(hook = "update-status"): Promise<void> {
    const order = [...this.world.pods.keys()].sort((a, b) => b - a).filter((unit) => unit !== this.world.leader);
    for (const unit of [...order, this.world.leader]) {
      if (this.world.pods.has(unit)) await this.event(unit, { hook });
    }
  }

  /**
   * Lets Kubernetes replace the next pod it may replace: the old pod's stop event, then a
   * new pod (fresh charm directory) and its first events. Returns the replaced ordinal.
   */
  async kubernetesStep(): Promise<number | undefined> {
    const pod = this.world.nextPodToReplace();
    if (pod === undefined) return undefined;
    await this.event(pod.ordinal, { hook: "stop" });
    await this.world.recreatePod(pod.ordinal);
    await this.event(pod.ordinal, { hook: "upgrade-charm" });
    await this.event(pod.ordinal, { hook: "config-changed" });
    return pod.ordinal;
  }

  /** Alternates Kubernetes steps and rounds of events until nothing moves (or `limit` rounds). */
  async settle(limit = 20): Promise<void> {
    for (let round = 0; round < limit; round++) {
      const replaced = await this.kubernetesStep();
      await this.everyUnit("relation-changed");
      if (replaced === undefined && this.world.nextPodToReplace() === undefined) {
        this.world.settle();
        return;
      }
    }
  }

  /** Committed health flags: units whose databag says they are healthy on their own revision. */
  healthyUnits(): Set<number> {
    const healthy = new Set<number>();
    for (const pod of this.world.pods.values()) {
      const flag = this.world.unitDatabags.get(pod.ordinal)?.["next_unit_allowed_to_refresh_if_app_controller_revision_hash_equals"];
      if (flag === JSON.stringify(pod.revision)) healthy.add(pod.ordinal);
    }
    return healthy;
  }

  private startedRevisions(): Set<string> {
    const lists = [...this.world.unitDatabags.values(), this.world.appDatabag]
      .map((databag) => databag["refresh_started_if_app_controller_revision_hash_in"])
      .filter((value) => value !== undefined)
      .flatMap((value) => JSON.parse(value) as string[]);
    return new Set(lists);
  }

  checkInvariants(step: string): void {
    const world = this.world;
    const fail = (message: string): void => {
      this.violations.push(`${step}: ${message}`);
    };
    for (const patch of world.patches.slice(this.patchesChecked)) {
      if (patch.partition > patch.from && patch.partition !== patch.unit) {
        fail(`unit ${patch.unit} raised the partition from ${patch.from} to ${patch.partition}, not to its own number`);
      }
      if (patch.partition < patch.from && !patch.leader) {
        fail(`unit ${patch.unit}, not the leader, lowered the partition from ${patch.from} to ${patch.partition}`);
      }
    }
    this.patchesChecked = world.patches.length;
    const highest = world.unitsHighestFirst()[0];
    if (highest !== undefined && world.partition > highest.ordinal) {
      fail(`partition ${world.partition} is above the highest unit ${highest.ordinal}`);
    }
    if (!world.inProgress) return;
    const original = this.originalRevisionDigests();
    // Original versions never lost while in progress (once the leader recorded them).
    if (original !== undefined && world.appDatabag["original_charm_version"] === undefined) {
      fail("original versions vanished while a refresh is in progress");
    }
    // A workload never runs on a revision whose refresh has not started, unless it runs the originals.
    const started = this.startedRevisions();
    for (const pod of world.pods.values()) {
      if (!pod.workloadRunning || pod.revision === world.currentRevision) continue;
      const spec = world.spec(pod.revision);
      const runsOriginal = original !== undefined && spec.charmVersion === original.charmVersion && spec.imageDigest === original.digest;
      if (!runsOriginal && !started.has(pod.revision)) {
        fail(`unit ${pod.ordinal} runs its workload on ${pod.revision}, whose refresh has not started`);
      }
    }
    // At most one refreshed unit is ahead of the health checks (unless the user forced).
    if (!this.forced) {
      const healthy = this.healthyUnits();
      const unhealthyUpdated = world.unitsHighestFirst().filter((pod) => pod.revision === world.updateRevision && !healthy.has(pod.ordinal));
      if (unhealthyUpdated.length > 1 + (this.behaviour.unhealthyUnits?.size ?? 0)) {
        fail(`units ${unhealthyUpdated.map((pod) => pod.ordinal).join(", ")} refreshed without the ones before them declaring health`);
      }
    }
  }

  private originalRevisionDigests(): { charmVersion: string; digest: string } | undefined {
    const charmVersion = this.world.appDatabag["original_charm_version"];
    const digest = this.world.appDatabag["original_workload_container_version"];
    if (charmVersion === undefined || digest === undefined) return this.recordedOriginal;
    this.recordedOriginal = { charmVersion: JSON.parse(charmVersion) as string, digest: JSON.parse(digest) as string };
    return this.recordedOriginal;
  }

  private recordedOriginal: { charmVersion: string; digest: string } | undefined;
  private patchesChecked = 0;
}
