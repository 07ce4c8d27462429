/**
 * Safety invariants of a Kubernetes refresh, checked from outside the charm (what a simulated
 * model shows: the StatefulSet and its pods, committed databags, which workloads run), so
 * that the substrate's scenario tests, the sample charm's tests and refresh-sim assert the
 * same properties after every hook:
 *
 * 1. at most one refreshed unit is ahead of the health checks: every unit on the update
 *    revision has declared itself healthy except the one refreshing now, and one lowering of
 *    the partition admits at most one outdated unit. Exempt: pods Kubernetes itself put on
 *    the update revision (an outdated pod evicted while the partition already covered it, a
 *    pod added by scale-up) and units admitted by
 *    `resume-refresh check-health-of-refreshed-units=false`;
 * 2. a workload never runs on a revision the refresh has not started for, unless the pod
 *    runs the original charm version and image (never refreshed, or rolled back);
 * 3. once saved, the original versions are neither lost nor changed while a refresh is in
 *    progress;
 * 4. the partition is never above the highest unit (a later `juju refresh` would otherwise
 *    fire no event at all);
 * 5. the partition is never lowered past a refreshed unit that has not declared itself
 *    healthy so as to admit an outdated unit, unless the user ran
 *    `resume-refresh check-health-of-refreshed-units=false`. (Lowering it onto units that are
 *    already on the update revision admits nobody; the library does that after an eviction.)
 *
 * "Declared healthy" is the unit's committed `next_unit_allowed_to_refresh_…` key naming its
 * pod's revision. Juju discards that write when the hook fails later on, while a partition
 * patch made in the same hook stays; so when the view can tell that a unit's workload runs
 * and is healthy ({@link KubernetesModelView.workloadHealthy}), that counts too.
 *
 * Rules 1 and 5 assume the application is trusted: without `juju trust` the library can patch
 * nothing, Kubernetes replaces every pod, and the library's only answer is to keep the new
 * workloads stopped and ask for trust (rule 2 still holds). When the view reports the
 * application untrusted ({@link KubernetesModelView.appTrusted}), rules 1 and 5 are off for
 * the rest of that refresh.
 *
 * Nothing here imports the simulator: the caller adapts its model to
 * {@link KubernetesModelView}.
 */
import { decodeAppDatabag, decodeKubernetesUnitDatabag, readOriginalVersions, AppKey } from "@refresh/core";

/** One pod of the application's StatefulSet. */
export interface ObservedPod {
  readonly ordinal: number;
  readonly uid: string;
  /** The pod's `controller-revision-hash`. */
  readonly revision: string;
}

/** The application's StatefulSet as the invariants read it. */
export interface ObservedStatefulSet {
  readonly updateRevision: string;
  readonly partition: number;
  /** Every pod, terminating ones included. */
  readonly pods: readonly ObservedPod[];
}

/** The versions a pod runs: its charm's version and its workload image digest. */
export interface PodVersions {
  /** The charm version in the pod's `refresh_versions.toml`, e.g. `14/1.0.0`. */
  readonly charmVersion: string;
  /** The workload image digest (`sha256:…`); undefined when not known. */
  readonly imageDigest: string | undefined;
}

/** The state of a model, as the invariants read it. */
export interface KubernetesModelView {
  /** The application's unit names (`<app>/<n>`, dying ones included). */
  units(): readonly string[];
  /** A unit's committed peer databag. */
  unitData(unit: string): Readonly<Record<string, string>>;
  /** The committed peer application databag. */
  appData(): Readonly<Record<string, string>>;
  /** The StatefulSet; undefined before deployment. */
  statefulSet(): ObservedStatefulSet | undefined;
  /** Whether the unit's workload runs now (in its current pod). */
  workloadRunning(unit: string): boolean;
  /** The versions the unit's pod runs. */
  podVersions(unit: string): PodVersions | undefined;
  /**
   * Whether the unit's local `kubernetes_refresh_started` marker exists: the highest unit
   * starts its workload in the hook that marks the refresh started, before Juju commits that
   * hook's databag writes.
   */
  refreshStartedMarker?(unit: string): boolean;
  /** Whether the unit's workload is healthy, when the model knows (see the module comment). */
  workloadHealthy?(unit: string): boolean;
  /** Whether the application may patch its StatefulSet (`juju trust`); trusted when absent. */
  appTrusted?(): boolean;
}

/** The event a unit is running, as far as the invariants care. */
export interface KubernetesObservedEvent {
  readonly kind: "hook" | "action";
  readonly name: string;
  /** Action parameters, when known. */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** Options of {@link KubernetesInvariants}. */
export interface KubernetesInvariantsOptions {
  readonly view: KubernetesModelView;
}

interface PodMemory {
  readonly uid: string;
  readonly revision: string;
}

const OVERRIDE_PARAM = "check-health-of-refreshed-units";

/** Unit numbers, highest first (the refresh order), for messages. */
function ordinals(pods: readonly ObservedPod[]): string {
  return pods
    .map((pod) => pod.ordinal)
    .sort((a, b) => b - a)
    .join(", ");
}

function unitNumber(unit: string): number {
  return Number(unit.slice(unit.lastIndexOf("/") + 1));
}

/**
 * Collects violations of the Kubernetes refresh invariants. Tell it about the user's
 * `resume-refresh` actions ({@link eventStarted}) and evictions ({@link podEvicted}), and call
 * {@link check} after every hook (e.g. as a simulator invariant).
 */
export class KubernetesInvariants {
  readonly #view: KubernetesModelView;
  #violations: string[] = [];
  /** Pods seen at the previous check, by ordinal. */
  #pods = new Map<number, PodMemory>();
  #partition: number | undefined;
  #updateRevision: string | undefined;
  /** Ordinals whose pod Kubernetes put on the update revision by itself (eviction, scale-up). */
  readonly #excused = new Set<number>();
  /** Ordinals a `resume-refresh` override admitted, until they declare themselves healthy. */
  readonly #overridden = new Set<number>();
  /** Ordinals evicted by the user whose replacement pod has not been seen yet. */
  readonly #evicted = new Set<number>();
  /** A `resume-refresh` override ran and its lowering has not been seen yet. */
  #overridePending = false;
  /** The five original-version values saved while idle, as text. */
  #originals: string | undefined;
  #originalsParsed: { charmVersion: string; digest: string } | undefined;
  /** The update revision of a refresh during which the application was seen untrusted. */
  #untrustedDuring: string | undefined;

  constructor(options: KubernetesInvariantsOptions) {
    this.#view = options.view;
  }

  /** Records the event a unit starts running; only `resume-refresh` overrides matter. */
  eventStarted(_unit: string, event: KubernetesObservedEvent): void {
    if (event.kind === "action" && event.name === "resume-refresh" && event.params?.[OVERRIDE_PARAM] === false) {
      this.#overridePending = true;
    }
  }

  /** Records that the user (or the cluster) is evicting the unit's pod (call before evicting). */
  podEvicted(unit: string): void {
    this.#evicted.add(unitNumber(unit));
  }

  /** Violations found since the last call, joined; undefined when there are none. */
  check(): string | undefined {
    const statefulSet = this.#view.statefulSet();
    if (statefulSet !== undefined) {
      const tearingDown = this.#tearingDownUids();
      const inProgress = statefulSet.pods.some((pod) => pod.revision !== statefulSet.updateRevision);
      this.#trackPods(statefulSet);
      if (this.#view.appTrusted?.() === false) this.#untrustedDuring = statefulSet.updateRevision;
      if (this.#untrustedDuring !== statefulSet.updateRevision) {
        this.#checkPartitionMove(statefulSet, tearingDown, inProgress);
        this.#checkAheadOfHealth(statefulSet, tearingDown, inProgress);
      }
      this.#checkPartitionBelowHighest(statefulSet);
      this.#checkOriginalVersions(inProgress);
      if (inProgress) this.#checkWorkloadsAllowed(statefulSet);
      this.#partition = statefulSet.partition;
      this.#updateRevision = statefulSet.updateRevision;
      this.#pods = new Map(statefulSet.pods.map((pod) => [pod.ordinal, { uid: pod.uid, revision: pod.revision }]));
    }
    const found = this.#violations;
    this.#violations = [];
    return found.length === 0 ? undefined : found.join("; ");
  }

  #unitOf(ordinal: number): string | undefined {
    return this.#view.units().find((unit) => unitNumber(unit) === ordinal);
  }

  #tearingDownUids(): Set<string> {
    const uids = new Set<string>();
    for (const unit of this.#view.units()) {
      for (const uid of decodeKubernetesUnitDatabag(this.#view.unitData(unit), unit).values.tearingDownPodUids ?? []) uids.add(uid);
    }
    return uids;
  }

  /** Whether the unit on this pod declared itself healthy on the pod's revision (or visibly is). */
  #declaredHealthy(pod: ObservedPod): boolean {
    const unit = this.#unitOf(pod.ordinal);
    if (unit === undefined) return false;
    const flag = decodeKubernetesUnitDatabag(this.#view.unitData(unit), unit).values.nextUnitAllowedForRevision;
    if (flag === pod.revision) return true;
    const healthy = this.#view.workloadHealthy;
    return healthy !== undefined && this.#view.workloadRunning(unit) && healthy.call(this.#view, unit);
  }

  /** Notes which pods Kubernetes put on the update revision without the library admitting them. */
  #trackPods(statefulSet: ObservedStatefulSet): void {
    if (this.#updateRevision !== undefined && this.#updateRevision !== statefulSet.updateRevision) {
      // A new `juju refresh`: excuses and overrides were about the previous revision.
      this.#excused.clear();
      this.#overridden.clear();
      this.#overridePending = false;
    }
    for (const pod of statefulSet.pods) {
      const before = this.#pods.get(pod.ordinal);
      if (before !== undefined && before.uid === pod.uid) continue;
      this.#excused.delete(pod.ordinal);
      const onUpdate = pod.revision === statefulSet.updateRevision;
      const evicted = this.#evicted.delete(pod.ordinal);
      const newOrdinal = before === undefined && this.#pods.size > 0;
      const evictedOutdated = evicted && before !== undefined && before.revision !== statefulSet.updateRevision;
      if (onUpdate && (newOrdinal || evictedOutdated)) this.#excused.add(pod.ordinal);
    }
    for (const ordinal of this.#excused) {
      const pod = statefulSet.pods.find((candidate) => candidate.ordinal === ordinal);
      if (pod === undefined || pod.revision !== statefulSet.updateRevision || this.#declaredHealthy(pod)) this.#excused.delete(ordinal);
    }
    for (const ordinal of this.#overridden) {
      // The admitted pod is replaced after the lowering: the excuse outlives that replacement.
      const pod = statefulSet.pods.find((candidate) => candidate.ordinal === ordinal);
      if (pod === undefined || (pod.revision === statefulSet.updateRevision && this.#declaredHealthy(pod))) this.#overridden.delete(ordinal);
    }
  }

  #checkPartitionMove(statefulSet: ObservedStatefulSet, tearingDown: ReadonlySet<string>, inProgress: boolean): void {
    const before = this.#partition;
    const after = statefulSet.partition;
    if (before === undefined || after >= before || this.#updateRevision !== statefulSet.updateRevision) return;
    if (!inProgress) return; // the idle reset to 0
    const live = statefulSet.pods.filter((pod) => !tearingDown.has(pod.uid));
    // Outdated now or at the previous check (Kubernetes may already have replaced it).
    const outdated = (pod: ObservedPod): boolean =>
      pod.revision !== statefulSet.updateRevision || (this.#pods.get(pod.ordinal)?.revision ?? statefulSet.updateRevision) !== statefulSet.updateRevision;
    const admitted = live.filter((pod) => pod.ordinal >= after && pod.ordinal < before && outdated(pod));
    // Lowering onto units already on the update revision (e.g. evicted onto it) admits nobody.
    if (admitted.length === 0) return;
    if (this.#overridePending) {
      this.#overridePending = false;
      for (const pod of admitted) this.#overridden.add(pod.ordinal);
    } else {
      const unhealthy = live.filter((pod) => pod.ordinal >= before && pod.revision === statefulSet.updateRevision && !this.#declaredHealthy(pod));
      if (unhealthy.length > 0) {
        this.#violations.push(
          `the partition went from ${before} to ${after} although refreshed ` +
            `${unhealthy.length > 1 ? `units ${ordinals(unhealthy)} had not declared themselves` : `unit ${ordinals(unhealthy)} had not declared itself`} ` +
            `healthy on ${statefulSet.updateRevision} ` +
            `(only resume-refresh ${OVERRIDE_PARAM}=false may do that)`,
        );
      }
    }
    if (admitted.length > 1) {
      this.#violations.push(
        `the partition went from ${before} to ${after}, admitting outdated units ${ordinals(admitted)} at once (one lowering admits at most one unit)`,
      );
    }
  }

  #checkAheadOfHealth(statefulSet: ObservedStatefulSet, tearingDown: ReadonlySet<string>, inProgress: boolean): void {
    // While no refresh runs, units on the (only) revision may start up in any order.
    if (!inProgress) return;
    const ahead = statefulSet.pods.filter(
      (pod) => pod.revision === statefulSet.updateRevision && !tearingDown.has(pod.uid) && !this.#excused.has(pod.ordinal) && !this.#overridden.has(pod.ordinal) && !this.#declaredHealthy(pod),
    );
    if (ahead.length > 1) {
      this.#violations.push(
        `units ${ordinals(ahead)} run ${statefulSet.updateRevision} without having declared themselves healthy ` +
          `(at most the one refreshing now may be ahead of the health checks)`,
      );
    }
  }

  #checkPartitionBelowHighest(statefulSet: ObservedStatefulSet): void {
    if (statefulSet.pods.length === 0) return;
    const highest = Math.max(...statefulSet.pods.map((pod) => pod.ordinal));
    if (statefulSet.partition > highest) {
      this.#violations.push(`the partition is ${statefulSet.partition}, above the highest unit ${highest}: a later juju refresh would replace no pod`);
    }
  }

  #checkOriginalVersions(inProgress: boolean): void {
    const app = this.#view.appData();
    const keys = [
      AppKey.originalWorkloadVersion,
      AppKey.originalWorkloadContainerVersion,
      AppKey.originalInstalledWorkloadContainerMatchedPinnedContainer,
      AppKey.originalCharmVersion,
      AppKey.originalCharmRevision,
    ];
    const text = JSON.stringify(keys.map((key) => app[key] ?? null));
    let parsed: { charmVersion: string; digest: string } | undefined;
    try {
      const originals = readOriginalVersions(decodeAppDatabag(app, "app"));
      parsed = { charmVersion: originals.charmVersion, digest: originals.workloadContainerVersion };
    } catch {
      parsed = undefined;
    }
    if (!inProgress) {
      if (parsed !== undefined) {
        this.#originals = text;
        this.#originalsParsed = parsed;
      }
      return;
    }
    if (this.#originals === undefined) return;
    if (parsed === undefined) {
      this.#violations.push(`the original versions were lost from the app databag during a refresh (were ${this.#originals}, now ${text})`);
    } else if (text !== this.#originals) {
      this.#violations.push(`the original versions changed during a refresh (from ${this.#originals} to ${text})`);
    }
  }

  #checkWorkloadsAllowed(statefulSet: ObservedStatefulSet): void {
    const view = this.#view;
    const app = decodeAppDatabag(view.appData(), "app").values;
    const started = new Set(app.refreshStartedForRevisions ?? []);
    for (const unit of view.units()) {
      for (const revision of decodeKubernetesUnitDatabag(view.unitData(unit), unit).values.refreshStartedForRevisions ?? []) started.add(revision);
    }
    for (const unit of view.units()) {
      if (!view.workloadRunning(unit)) continue;
      const pod = statefulSet.pods.find((candidate) => candidate.ordinal === unitNumber(unit));
      if (pod === undefined || started.has(pod.revision)) continue;
      if (view.refreshStartedMarker?.(unit) === true) continue;
      const versions = view.podVersions(unit);
      const original = this.#originalsParsed;
      if (original !== undefined && versions !== undefined && versions.charmVersion === original.charmVersion && versions.imageDigest === original.digest) continue;
      this.#violations.push(
        `${unit} runs its workload on ${pod.revision} (charm ${versions?.charmVersion ?? "unknown"}, image ${versions?.imageDigest ?? "unknown"}), ` +
          `for which the refresh has not started, and that is not the original version`,
      );
    }
  }
}
