import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefreshError } from "@refresh/core";
import { TestingError } from "../errors.js";
import { FakeClusterError, FakeKubernetesCluster, imageIdFor } from "./cluster.js";
import type { ClusterChange, FakeStatefulSet, PodTemplate } from "./cluster.js";

const V1: PodTemplate = {
  annotations: { "charm.juju.is/modified-version": "10" },
  containers: [
    { name: "charm", image: "jujusolutions/charm-base:ubuntu-22.04" },
    { name: "postgresql", image: "registry.jujucharms.com/charm/abc/postgresql-image@sha256:1111" },
  ],
};
const V2: PodTemplate = {
  annotations: { "charm.juju.is/modified-version": "11" },
  containers: [
    { name: "charm", image: "jujusolutions/charm-base:ubuntu-22.04" },
    { name: "postgresql", image: "registry.jujucharms.com/charm/abc/postgresql-image@sha256:2222" },
  ],
};

function deploy(replicas = 3, partition = 0): { cluster: FakeKubernetesCluster; sts: FakeStatefulSet } {
  const cluster = new FakeKubernetesCluster({ namespace: "model" });
  const { statefulSet } = cluster.deploy("postgresql-k8s", { template: V1, replicas, partition, trusted: true });
  for (let ordinal = 0; ordinal < replicas; ordinal += 1) statefulSet.setReady(ordinal, true);
  return { cluster, sts: statefulSet };
}

/** Lets the controller roll as far as it would, with every recreated pod becoming Ready. */
function rollAsFarAsAllowed(sts: FakeStatefulSet): number[] {
  const replaced: number[] = [];
  for (let next = sts.nextPodToReplace(); next !== undefined; next = sts.nextPodToReplace()) {
    sts.replacePod(next);
    sts.setReady(next, true);
    replaced.push(next);
  }
  return replaced;
}

describe("FakeKubernetesCluster deploy", () => {
  it("creates pods <app>-N on one revision named <app>-<hash>, with labels and distinct uids", () => {
    const { sts } = deploy(3);
    const pods = sts.pods();
    expect(pods.map((pod) => pod.name)).toEqual(["postgresql-k8s-0", "postgresql-k8s-1", "postgresql-k8s-2"]);
    expect(sts.updateRevision).toMatch(/^postgresql-k8s-[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(sts.currentRevision).toBe(sts.updateRevision);
    expect(new Set(pods.map((pod) => pod.revision))).toEqual(new Set([sts.updateRevision]));
    expect(new Set(pods.map((pod) => pod.uid)).size).toBe(3);
  });

  it("reports the workload image digest in imageID and invents a stable one for tag-only images", () => {
    const { sts } = deploy(1);
    const containers = sts.pod(0)?.containers ?? [];
    expect(containers.find((c) => c.name === "postgresql")?.imageID).toBe(
      "registry.jujucharms.com/charm/abc/postgresql-image@sha256:1111",
    );
    const charm = containers.find((c) => c.name === "charm")?.imageID ?? "";
    expect(charm).toMatch(/^jujusolutions\/charm-base@sha256:[0-9a-f]{64}$/);
    expect(imageIdFor("jujusolutions/charm-base:ubuntu-22.04")).toBe(charm);
  });

  it("starts pods not Ready, so the rollout waits for the model to report readiness", () => {
    const cluster = new FakeKubernetesCluster({ namespace: "model" });
    const { statefulSet } = cluster.deploy("app", { template: V1, replicas: 2 });
    expect(statefulSet.pods().every((pod) => !pod.ready)).toBe(true);
    statefulSet.applyTemplate(V2);
    expect(statefulSet.nextPodToReplace()).toBe(1);
    statefulSet.replacePod(1);
    expect(statefulSet.nextPodToReplace()).toBeUndefined();
  });

  it("rejects a second deployment of the same application and invalid names", () => {
    const { cluster } = deploy(1);
    expect(() => cluster.deploy("postgresql-k8s", { template: V1, replicas: 1 })).toThrow(/already deployed/);
    expect(() => cluster.deploy("Bad_Name", { template: V1, replicas: 1 })).toThrow(/not a valid/);
    expect(() => cluster.statefulSet("nope")).toThrow(/not deployed/);
  });

  it("tells impossible requests apart by a stable code, catchable as a TestingError and a RefreshError", () => {
    const { cluster, sts } = deploy(2);
    const thrown = (action: () => unknown): unknown => {
      try {
        action();
      } catch (error) {
        return error;
      }
      throw new Error("expected the fake cluster to refuse");
    };
    const duplicate = thrown(() => cluster.deploy("postgresql-k8s", { template: V1, replicas: 1 }));
    expect(duplicate).toBeInstanceOf(FakeClusterError);
    expect(duplicate).toBeInstanceOf(TestingError);
    expect(duplicate).toBeInstanceOf(RefreshError);
    expect(duplicate).toMatchObject({ name: "FakeClusterError", code: "FAKE_CLUSTER_APP_ALREADY_DEPLOYED" });
    expect(thrown(() => new FakeKubernetesCluster({ namespace: "Not Valid" }))).toMatchObject({ code: "FAKE_CLUSTER_INVALID_NAMESPACE" });
    expect(thrown(() => cluster.deploy("Bad_Name", { template: V1, replicas: 1 }))).toMatchObject({ code: "FAKE_CLUSTER_INVALID_APP_NAME" });
    expect(thrown(() => cluster.statefulSet("nope"))).toMatchObject({ code: "FAKE_CLUSTER_APP_NOT_DEPLOYED" });
    expect(thrown(() => sts.templateOf("nope"))).toMatchObject({ code: "FAKE_CLUSTER_UNKNOWN_REVISION" });
    expect(thrown(() => sts.setReady(5, true))).toMatchObject({ code: "FAKE_CLUSTER_UNKNOWN_POD" });
    expect(thrown(() => sts.finishPodDeletion(0))).toMatchObject({ code: "FAKE_CLUSTER_POD_NOT_TERMINATING" });
    expect(thrown(() => sts.scale(-1))).toMatchObject({ code: "FAKE_CLUSTER_INVALID_REPLICAS" });
    expect(thrown(() => sts.applyTemplate({ containers: [] }))).toMatchObject({ code: "FAKE_CLUSTER_INVALID_TEMPLATE" });
  });

  it("names the containers a pod has when asked for one it does not have", () => {
    const { sts } = deploy(1);
    expect(() => sts.restartContainer(0, "nope")).toThrow(expect.objectContaining({ code: "FAKE_CLUSTER_UNKNOWN_CONTAINER", message: expect.stringContaining('use one of: "charm", "postgresql"') }));
  });
});

describe("revisions", () => {
  it("juju refresh creates a new update revision and leaves the current revision alone", () => {
    const { sts } = deploy(3);
    const old = sts.updateRevision;
    const changes = sts.applyTemplate(V2);
    expect(sts.updateRevision).not.toBe(old);
    expect(sts.currentRevision).toBe(old);
    expect(changes.map((change) => change.type)).toEqual(["revision-created", "update-revision-changed"]);
    expect(sts.revisions().map((revision) => revision.number)).toEqual([1, 2]);
  });

  it("a template equal to an old one reuses that revision and makes it the newest", () => {
    const { sts } = deploy(3);
    const first = sts.updateRevision;
    sts.applyTemplate(V2);
    const changes = sts.applyTemplate({ containers: [...V1.containers], annotations: { ...V1.annotations } });
    expect(sts.updateRevision).toBe(first);
    expect(changes.some((change) => change.type === "revision-created")).toBe(false);
    expect(sts.revisions().map((revision) => [revision.name, revision.number])).toEqual([
      [sts.revisions()[0]?.name, 2],
      [first, 3],
    ]);
  });

  it("the same template in another key order is the same revision", () => {
    const { sts } = deploy(1);
    const before = sts.updateRevision;
    sts.applyTemplate({ containers: V1.containers, annotations: V1.annotations ?? {} });
    expect(sts.updateRevision).toBe(before);
  });
});

describe("rolling update with a partition", () => {
  it("replaces the highest ordinal first and waits for it to be Ready before the next", () => {
    const { sts } = deploy(3);
    sts.applyTemplate(V2);
    expect(sts.nextPodToReplace()).toBe(2);
    const uidBefore = sts.pod(2)?.uid;
    sts.replacePod(2);
    expect(sts.pod(2)?.revision).toBe(sts.updateRevision);
    expect(sts.pod(2)?.uid).not.toBe(uidBefore);
    expect(sts.nextPodToReplace()).toBeUndefined();
    sts.setReady(2, true);
    expect(sts.nextPodToReplace()).toBe(1);
  });

  it("does not go below the partition", () => {
    const { sts } = deploy(3, 2);
    sts.applyTemplate(V2);
    expect(rollAsFarAsAllowed(sts)).toEqual([2]);
    sts.setPartition(1);
    expect(rollAsFarAsAllowed(sts)).toEqual([1]);
    sts.setPartition(0);
    expect(rollAsFarAsAllowed(sts)).toEqual([0]);
  });

  it("a partition above the highest ordinal updates nothing", () => {
    const { sts } = deploy(3, 3);
    sts.applyTemplate(V2);
    expect(sts.nextPodToReplace()).toBeUndefined();
  });

  it("refuses to replace a pod the controller would not replace", () => {
    const { sts } = deploy(3, 1);
    sts.applyTemplate(V2);
    expect(() => sts.replacePod(1)).toThrow(/postgresql-k8s-2 next/);
    expect(() => sts.replacePod(0)).toThrow();
  });

  it("a pod below the partition keeps its old revision even when deleted or evicted", () => {
    const { sts } = deploy(3, 2);
    const old = sts.currentRevision;
    sts.applyTemplate(V2);
    const deleted = sts.deletePod(0);
    expect(sts.pod(0)?.revision).toBe(old);
    expect(deleted.find((change) => change.type === "pod-created")).toMatchObject({ ordinal: 0, revision: old });
    sts.evict(1);
    expect(sts.pod(1)?.revision).toBe(old);
  });

  it("a deleted pod at or above the partition comes back on the update revision", () => {
    const { sts } = deploy(3, 1);
    sts.applyTemplate(V2);
    sts.evict(1);
    expect(sts.pod(1)?.revision).toBe(sts.updateRevision);
  });

  it("the recreation revision follows the partition at the moment deletion finishes", () => {
    const { sts } = deploy(3, 0);
    const old = sts.currentRevision;
    sts.applyTemplate(V2);
    sts.startPodDeletion(1, "deleted");
    // e.g. the stopping unit raised the partition in its stop hook
    sts.setPartition(2);
    sts.finishPodDeletion(1);
    expect(sts.pod(1)?.revision).toBe(old);
  });

  it("raising the partition does not roll back pods that already updated", () => {
    const { sts } = deploy(3, 0);
    sts.applyTemplate(V2);
    rollAsFarAsAllowed(sts);
    sts.applyTemplate(V2);
    sts.setPartition(3);
    expect(sts.pods().every((pod) => pod.revision === sts.updateRevision)).toBe(true);
  });

  it("a pod that never becomes Ready blocks the rollout", () => {
    const { sts } = deploy(3);
    sts.applyTemplate(V2);
    sts.replacePod(2);
    expect(sts.nextPodToReplace()).toBeUndefined();
    sts.setReady(2, true);
    sts.setReady(2, false);
    expect(sts.nextPodToReplace()).toBeUndefined();
  });

  it("the current revision advances only once every pod is updated and Ready", () => {
    const { sts } = deploy(2);
    const old = sts.currentRevision;
    sts.applyTemplate(V2);
    sts.replacePod(1);
    sts.setReady(1, true);
    sts.replacePod(0);
    expect(sts.currentRevision).toBe(old);
    const changes = sts.setReady(0, true);
    expect(sts.currentRevision).toBe(sts.updateRevision);
    expect(changes.map((change) => change.type)).toEqual(["pod-ready-changed", "current-revision-changed"]);
  });

  it("rollback: re-applying the old template sends updated pods back to the old revision", () => {
    const { sts } = deploy(3, 2);
    const old = sts.currentRevision;
    sts.applyTemplate(V2);
    rollAsFarAsAllowed(sts);
    sts.applyTemplate(V1);
    expect(sts.updateRevision).toBe(old);
    expect(rollAsFarAsAllowed(sts)).toEqual([2]);
    expect(sts.pods().every((pod) => pod.revision === old)).toBe(true);
  });
});

describe("container restarts", () => {
  it("keep the pod (same uid and revision), count the restart and make it not Ready", () => {
    const { sts } = deploy(2);
    const before = sts.pod(1);
    const changes = sts.restartContainer(1, "charm");
    const after = sts.pod(1);
    expect(after?.uid).toBe(before?.uid);
    expect(after?.revision).toBe(before?.revision);
    expect(after?.ready).toBe(false);
    expect(after?.containers.find((c) => c.name === "charm")?.restartCount).toBe(1);
    expect(changes).toEqual([{ type: "pod-ready-changed", app: "postgresql-k8s", ordinal: 1, uid: before?.uid, ready: false }]);
    expect(() => sts.restartContainer(1, "nope")).toThrow(/no container/);
  });
});

describe("two-phase deletion", () => {
  it("a terminating pod stays listed with a deletionTimestamp and is not Ready until deletion finishes", () => {
    const { sts } = deploy(3);
    sts.applyTemplate(V2);
    const uid = sts.pod(2)?.uid;
    const deleting = sts.startPodDeletion(2, "rolling-update");
    expect(deleting[0]).toMatchObject({ type: "pod-deleting", ordinal: 2, uid, reason: "rolling-update" });
    expect(sts.pod(2)?.deletionTimestamp).toBeDefined();
    expect(sts.pod(2)?.ready).toBe(false);
    expect(sts.nextPodToReplace()).toBeUndefined();
    const finished = sts.finishPodDeletion(2);
    expect(finished.map((change) => change.type)).toEqual(["pod-deleted", "pod-created"]);
    expect(sts.pod(2)?.deletionTimestamp).toBeUndefined();
  });

  it("tells subscribers about every change, including ones returned to the caller", () => {
    const { cluster, sts } = deploy(2);
    const seen: ClusterChange[] = [];
    const unsubscribe = cluster.subscribe((change) => seen.push(change));
    const returned = sts.evict(0);
    expect(seen).toEqual(returned);
    unsubscribe();
    sts.evict(1);
    expect(seen).toEqual(returned);
  });
});

describe("scale", () => {
  it("new pods at or above the partition get the update revision, below it the current one", () => {
    const { sts } = deploy(2, 3);
    const old = sts.currentRevision;
    sts.applyTemplate(V2);
    sts.scale(5);
    expect(sts.pods().map((pod) => pod.revision === old)).toEqual([true, true, true, false, false]);
  });

  it("scaling down terminates the highest ordinals and does not recreate them", () => {
    const { sts } = deploy(4);
    const changes = sts.scale(2);
    expect(changes.filter((change) => change.type === "pod-deleting").map((change) => change.ordinal)).toEqual([3, 2]);
    expect(sts.pods().length).toBe(4);
    sts.finishAllDeletions();
    expect(sts.pods().map((pod) => pod.ordinal)).toEqual([0, 1]);
  });

  it("a pod added by scale-up during a rollout counts towards completing it", () => {
    const { sts } = deploy(2);
    const old = sts.currentRevision;
    sts.applyTemplate(V2);
    rollAsFarAsAllowed(sts);
    expect(sts.currentRevision).toBe(sts.updateRevision);
    sts.applyTemplate(V1);
    sts.scale(3);
    expect(sts.pod(2)?.revision).toBe(old);
    expect(sts.currentRevision).not.toBe(old);
    sts.setReady(2, true);
    rollAsFarAsAllowed(sts);
    expect(sts.currentRevision).toBe(old);
  });
});

describe("properties", () => {
  it("every pod below the partition is on the current revision or was updated before the partition rose", () => {
    // Random operation sequences: the rolling update never moves a pod below the partition to
    // the update revision, and the current revision only changes once all pods are updated.
    const operation = fc.oneof(
      fc.record({ kind: fc.constant("partition" as const), value: fc.nat(5) }),
      fc.record({ kind: fc.constant("replace" as const) }),
      fc.record({ kind: fc.constant("ready" as const), ordinal: fc.nat(4), value: fc.boolean() }),
      fc.record({ kind: fc.constant("evict" as const), ordinal: fc.nat(4) }),
      fc.record({ kind: fc.constant("scale" as const), value: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const { sts } = deploy(3, 3);
        const old = sts.currentRevision;
        sts.applyTemplate(V2);
        let lowestPartitionSeen = sts.partition;
        for (const op of operations) {
          if (op.kind === "partition") sts.setPartition(op.value);
          if (op.kind === "replace") {
            const next = sts.nextPodToReplace();
            if (next !== undefined) {
              expect(next).toBeGreaterThanOrEqual(sts.partition);
              sts.replacePod(next);
            }
          }
          if (op.kind === "ready" && sts.pod(op.ordinal) !== undefined && sts.pod(op.ordinal)?.deletionTimestamp === undefined) {
            sts.setReady(op.ordinal, op.value);
          }
          if (op.kind === "evict" && sts.pod(op.ordinal) !== undefined && sts.pod(op.ordinal)?.deletionTimestamp === undefined) {
            sts.evict(op.ordinal);
          }
          if (op.kind === "scale") {
            sts.scale(op.value);
            sts.finishAllDeletions();
          }
          lowestPartitionSeen = Math.min(lowestPartitionSeen, sts.partition);
          for (const pod of sts.pods()) {
            if (pod.ordinal < lowestPartitionSeen) expect(pod.revision).toBe(sts.currentRevision);
          }
          if (sts.currentRevision !== old) {
            expect(sts.currentRevision).toBe(sts.updateRevision);
          }
        }
      }),
    );
  });
});
