import { describe, expect, it } from "vitest";
import { KubernetesInvariants, type KubernetesModelView, type ObservedPod, type PodVersions } from "./invariants.js";

// A hand-driven model: each test moves it the way a correct or a broken library would, and
// asserts what the invariants say after that step.

const OLD = "db-old";
const NEW = "db-new";
const FLAG = "next_unit_allowed_to_refresh_if_app_controller_revision_hash_equals";
const STARTED = "refresh_started_if_app_controller_revision_hash_in";
const TEARING_DOWN = "pod_uids_of_units_that_are_tearing_down";
const ORIGINALS: Record<string, string> = {
  original_workload_version: '"14.9"',
  original_workload_container_version: '"sha256:aaaa"',
  original_installed_workload_container_matched_pinned_container: "true",
  original_charm_version: '"14/1.0.0"',
  original_charm_revision: '"ch:amd64/jammy/db-10"',
};
const VERSIONS: Record<string, PodVersions> = {
  [OLD]: { charmVersion: "14/1.0.0", imageDigest: "sha256:aaaa" },
  [NEW]: { charmVersion: "14/1.1.0", imageDigest: "sha256:bbbb" },
};

class Model implements KubernetesModelView {
  updateRevision = OLD;
  partition = 0;
  pods: ObservedPod[];
  data: Record<string, Record<string, string>> = {};
  app: Record<string, string> = { ...ORIGINALS };
  running = new Set<string>();
  unhealthy = new Set<string>();
  markers = new Set<string>();
  trusted = true;
  #uid = 0;

  constructor(count: number) {
    this.pods = Array.from({ length: count }, (_, ordinal) => ({ ordinal, uid: this.#nextUid(), revision: OLD }));
    for (const pod of this.pods) {
      this.data[`db/${pod.ordinal}`] = { [FLAG]: JSON.stringify(OLD) };
      this.running.add(`db/${pod.ordinal}`);
    }
  }
  #nextUid(): string {
    return `uid-${(this.#uid += 1)}`;
  }
  units(): string[] {
    return this.pods.map((pod) => `db/${pod.ordinal}`);
  }
  unitData(unit: string): Record<string, string> {
    return this.data[unit] ?? {};
  }
  appData(): Record<string, string> {
    return this.app;
  }
  statefulSet() {
    return { updateRevision: this.updateRevision, partition: this.partition, pods: this.pods };
  }
  workloadRunning(unit: string): boolean {
    return this.running.has(unit);
  }
  podVersions(unit: string): PodVersions | undefined {
    const pod = this.pods.find((candidate) => `db/${candidate.ordinal}` === unit);
    return pod === undefined ? undefined : VERSIONS[pod.revision];
  }
  refreshStartedMarker(unit: string): boolean {
    return this.markers.has(unit);
  }
  workloadHealthy(unit: string): boolean {
    return !this.unhealthy.has(unit);
  }
  appTrusted(): boolean {
    return this.trusted;
  }

  jujuRefresh(): void {
    this.updateRevision = NEW;
  }
  /** Kubernetes recreates pod `ordinal` on the revision the partition dictates; its workload is down. */
  recreate(ordinal: number): void {
    const revision = ordinal >= this.partition ? this.updateRevision : OLD;
    this.pods = this.pods.map((pod) => (pod.ordinal === ordinal ? { ordinal, uid: this.#nextUid(), revision } : pod));
    this.running.delete(`db/${ordinal}`);
    this.markers.delete(`db/${ordinal}`);
  }
  /** The unit starts its workload and, when healthy, declares it. */
  startWorkload(ordinal: number, declare = true): void {
    const unit = `db/${ordinal}`;
    this.running.add(unit);
    const pod = this.pods.find((candidate) => candidate.ordinal === ordinal);
    if (declare && pod !== undefined) this.data[unit] = { ...this.data[unit], [FLAG]: JSON.stringify(pod.revision) };
  }
  markStarted(ordinal: number): void {
    this.data[`db/${ordinal}`] = { ...this.data[`db/${ordinal}`], [STARTED]: JSON.stringify([NEW]) };
  }
}

function watch(model: Model): KubernetesInvariants {
  const invariants = new KubernetesInvariants({ view: model });
  expect(invariants.check()).toBeUndefined();
  return invariants;
}

/** `juju refresh`, unit 2's stop raises the partition, its new pod passes the checks and runs healthy. */
function firstUnitRefreshed(model: Model, invariants: KubernetesInvariants): void {
  model.jujuRefresh();
  expect(invariants.check()).toBeUndefined();
  model.partition = 2;
  model.recreate(2);
  expect(invariants.check()).toBeUndefined();
  model.markStarted(2);
  model.startWorkload(2);
  expect(invariants.check()).toBeUndefined();
}

describe("KubernetesInvariants", () => {
  it("accept a correct refresh, one unit at a time, to its end", () => {
    const model = new Model(3);
    const invariants = watch(model);
    firstUnitRefreshed(model, invariants);
    for (const ordinal of [1, 0]) {
      model.partition = ordinal;
      expect(invariants.check()).toBeUndefined();
      model.recreate(ordinal);
      expect(invariants.check()).toBeUndefined();
      model.startWorkload(ordinal);
      expect(invariants.check()).toBeUndefined();
    }
    // Idle again: the leader cleans up and saves the new originals.
    model.app = { ...ORIGINALS, original_charm_version: '"14/1.1.0"', original_workload_container_version: '"sha256:bbbb"' };
    expect(invariants.check()).toBeUndefined();
  });

  it("catch two refreshed units ahead of the health checks", () => {
    const model = new Model(3);
    const invariants = watch(model);
    firstUnitRefreshed(model, invariants);
    model.data["db/2"] = { ...model.data["db/2"], [FLAG]: JSON.stringify(OLD) }; // undo the declaration
    model.unhealthy.add("db/2");
    // A broken library: the partition is patched twice without any health.
    model.partition = 1;
    model.recreate(1);
    invariants.check();
    model.startWorkload(1, false);
    model.unhealthy.add("db/1");
    expect(invariants.check()).toMatch(/units 2, 1 run db-new without having declared themselves healthy/);
  });

  it("catch one lowering that admits two outdated units", () => {
    const model = new Model(3);
    const invariants = watch(model);
    firstUnitRefreshed(model, invariants);
    model.partition = 0;
    expect(invariants.check()).toMatch(/admitting outdated units 1, 0 at once/);
  });

  it("excuse a pod evicted while the partition already covered it, but only that one", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.jujuRefresh();
    expect(invariants.check()).toBeUndefined();
    // Right after juju refresh the partition is still 0: unit 2 is being replaced and unit 1,
    // evicted now, comes back on the new revision too. Neither has started its workload.
    model.recreate(2);
    invariants.podEvicted("db/1");
    model.recreate(1);
    expect(invariants.check()).toBeUndefined();
    // Without the eviction notice the same state is two units ahead of the health checks.
    const unaware = new KubernetesInvariants({ view: model });
    expect(unaware.check()).toMatch(/units 2, 1 run db-new without having declared/);
  });

  it("catch a workload started on a revision whose refresh has not started", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.jujuRefresh();
    model.partition = 2;
    model.recreate(2);
    expect(invariants.check()).toBeUndefined();
    model.startWorkload(2, false);
    expect(invariants.check()).toMatch(/db\/2 runs its workload on db-new .* for which the refresh has not started/);
    // The marker the highest unit writes before its databag write commits is enough.
    model.markers.add("db/2");
    expect(invariants.check()).toBeUndefined();
  });

  it("let units running the original versions start at any time (rollback)", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.jujuRefresh();
    model.partition = 2;
    model.recreate(2);
    model.recreate(1); // e.g. restarted by a rollback: still on the old revision, original versions
    model.startWorkload(1);
    expect(invariants.check()).toBeUndefined();
  });

  it("catch original versions lost or changed while a refresh is in progress", () => {
    const model = new Model(3);
    const invariants = watch(model);
    firstUnitRefreshed(model, invariants);
    model.app = { ...ORIGINALS, original_charm_version: '"14/1.1.0"' };
    expect(invariants.check()).toMatch(/original versions changed during a refresh/);
    const { original_charm_revision: _dropped, ...rest } = ORIGINALS;
    model.app = rest;
    expect(invariants.check()).toMatch(/original versions were lost/);
  });

  it("catch a partition above the highest unit", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.partition = 3;
    expect(invariants.check()).toMatch(/partition is 3, above the highest unit 2/);
  });

  it("catch the partition lowered past an unhealthy refreshed unit, unless resume-refresh overrode the health checks", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.jujuRefresh();
    model.partition = 2;
    model.recreate(2);
    model.markStarted(2);
    model.startWorkload(2, false);
    model.unhealthy.add("db/2");
    expect(invariants.check()).toBeUndefined();
    model.partition = 1;
    expect(invariants.check()).toMatch(/partition went from 2 to 1 although refreshed unit 2 had not declared itself healthy/);

    const overridden = new Model(3);
    const watched = watch(overridden);
    overridden.jujuRefresh();
    overridden.partition = 2;
    overridden.recreate(2);
    overridden.markStarted(2);
    overridden.startWorkload(2, false);
    overridden.unhealthy.add("db/2");
    expect(watched.check()).toBeUndefined();
    watched.eventStarted("db/0", { kind: "action", name: "resume-refresh", params: { "check-health-of-refreshed-units": false } });
    overridden.partition = 1;
    expect(watched.check()).toBeUndefined();
    overridden.recreate(1);
    overridden.startWorkload(1, false);
    overridden.unhealthy.add("db/1");
    expect(watched.check()).toBeUndefined();
    // The override admitted one unit; the next lowering needs health (or another override) again.
    overridden.partition = 0;
    expect(watched.check()).toMatch(/partition went from 1 to 0 although refreshed units 2, 1 had not declared themselves healthy/);
  });

  it("ignore tearing-down pods when counting units ahead of the health checks", () => {
    const model = new Model(4);
    const invariants = watch(model);
    model.jujuRefresh();
    model.partition = 3;
    model.recreate(3);
    expect(invariants.check()).toBeUndefined();
    // Unit 3 is being removed (scale-down) before it ever ran; unit 2 refreshes next.
    const departing = model.pods.find((pod) => pod.ordinal === 3)?.uid ?? "";
    model.data["db/0"] = { ...model.data["db/0"], [TEARING_DOWN]: JSON.stringify([departing]) };
    model.partition = 2;
    model.recreate(2);
    expect(invariants.check()).toBeUndefined();
  });

  it("suspend the partition rules while the application is untrusted, but not the workload rule", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.trusted = false;
    model.jujuRefresh();
    // Nobody can patch: Kubernetes replaces every pod it may, from the top.
    model.recreate(2);
    model.recreate(1);
    expect(invariants.check()).toBeUndefined();
    model.startWorkload(1, false);
    expect(invariants.check()).toMatch(/db\/1 runs its workload on db-new/);
  });

  it("accept lowering the partition onto a unit already refreshed by an eviction, which admits nobody", () => {
    const model = new Model(3);
    const invariants = watch(model);
    model.jujuRefresh();
    invariants.podEvicted("db/1");
    model.recreate(2);
    model.recreate(1); // partition still 0: unit 1 comes back on the new revision
    model.partition = 2;
    expect(invariants.check()).toBeUndefined();
    // Unit 2's checks fail (no workload, no health); the leader still moves the partition onto unit 1.
    model.partition = 1;
    expect(invariants.check()).toBeUndefined();
    // Lowering further would admit outdated unit 0 past the unhealthy units.
    model.partition = 0;
    expect(invariants.check()).toMatch(/partition went from 1 to 0 although refreshed units 2, 1 had not declared themselves healthy/);
  });
});
