import { describe, expect, it } from "vitest";
import { FakeKubernetesCluster } from "./cluster.js";
import { ClusterStatefulSetDriver } from "./driver.js";

const R1 = { charmRevision: 1, image: "registry/charm/x/workload@sha256:aaaa" };
const R2 = { charmRevision: 2, image: "registry/charm/x/workload@sha256:bbbb" };

function deployed(units: number): { cluster: FakeKubernetesCluster; driver: ClusterStatefulSetDriver } {
  const cluster = new FakeKubernetesCluster({ namespace: "sim" });
  const driver = ClusterStatefulSetDriver.deploy(cluster, "app", R1);
  for (let ordinal = 0; ordinal < units; ordinal += 1) {
    driver.createPod(ordinal);
    driver.setReady(ordinal, true);
  }
  return { cluster, driver };
}

describe("ClusterStatefulSetDriver", () => {
  it("creates one pod per unit and maps revisions back to charm revision and image", () => {
    const { driver } = deployed(3);
    expect(driver.pods().map((pod) => pod.ordinal)).toEqual([0, 1, 2]);
    expect(driver.templateOf(driver.updateRevision)).toEqual(R1);
    expect(driver.statefulSet.pod(0)?.containers.map((c) => c.name)).toEqual(["charm", "workload"]);
  });

  it("every juju refresh is a new revision, even back to the same charm (Juju bumps an annotation)", () => {
    const { driver } = deployed(1);
    const first = driver.updateRevision;
    driver.applyTemplate(R2);
    const back = driver.applyTemplate(R1);
    expect(back).not.toBe(first);
    expect(driver.templateOf(back)).toEqual(R1);
  });

  it("delete then create replaces the pod (new uid) on the revision the partition dictates", () => {
    const { driver } = deployed(3);
    driver.applyTemplate(R2);
    driver.setPartition(2);
    const old = driver.pods().find((pod) => pod.ordinal === 2);
    driver.deletePod(2);
    const replaced = driver.createPod(2);
    expect(replaced.uid).not.toBe(old?.uid);
    expect(replaced.revision).toBe(driver.updateRevision);
    driver.deletePod(1);
    expect(driver.createPod(1).revision).toBe(driver.currentRevision);
  });

  it("removePod scales down the highest pod for good and refuses any other", () => {
    const { driver } = deployed(3);
    expect(() => driver.removePod(0)).toThrow(/only the highest pod/);
    driver.removePod(2);
    expect(driver.pods().map((pod) => pod.ordinal)).toEqual([0, 1]);
  });

  it("a partition patched through the cluster (as the API server does) is what the driver reports", () => {
    const { cluster, driver } = deployed(3);
    cluster.statefulSet("app").setPartition(2);
    expect(driver.partition).toBe(2);
    driver.applyTemplate(R2);
    expect(driver.nextPodToReplace()?.ordinal).toBe(2);
  });
});
