import { existsSync } from "node:fs";
import { join } from "node:path";
import { PrecheckFailed, type RefreshError } from "@refresh/core";
import type { CharmHandler } from "@refresh/juju";
import {
  ClusterStatefulSetDriver,
  FakeKubernetesApiServer,
  FakeKubernetesCluster,
  createSimulator,
  type CharmRevision,
  type Simulator,
} from "@refresh/testing";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Kubernetes } from "./kubernetes.js";

// Whole refreshes in @refresh/testing's simulator, end to end: the real HTTPS client talks to
// the fake API server, whose StatefulSet is the one the simulator rolls; hooks of different
// units interleave in a seeded order; relation writes commit only when a hook succeeds.

const IMAGE = "registry.example/db-image";
const DIGEST = (revision: number): string => `sha256:${revision.toString(16).padStart(64, "0")}`;

const ACTIONS_YAML = [
  "pre-refresh-check:",
  "  additionalProperties: false",
  "force-refresh-start:",
  "  params:",
  "    check-compatibility: {type: boolean, default: true}",
  "    run-pre-refresh-checks: {type: boolean, default: true}",
  "    check-workload-container: {type: boolean, default: true}",
  "  additionalProperties: false",
  "resume-refresh:",
  "  params:",
  "    check-health-of-refreshed-units: {type: boolean, default: true}",
  "  additionalProperties: false",
].join("\n");

/** What the test charm's units do, shared by every revision's handler. */
interface CharmWorld {
  precheckFailure: string | undefined;
  precheckCalls: number;
  /** Unit name → the pod revision whose workload it runs. */
  running: Map<string, string>;
}

function charmRevision(revision: number, charmVersion: string, workloadVersion: string, world: CharmWorld): CharmRevision {
  const handler: CharmHandler = async (run) => {
    const unit = run.context.unitName;
    // A stopping pod's workload stops with it, whatever the library says next.
    if (run.context.event.kind === "hook" && run.context.event.name === "stop") world.running.delete(unit);
    let refresh: Kubernetes;
    try {
      refresh = await Kubernetes.create(run, {
        workloadName: "Database",
        charmName: "db-k8s",
        ociResourceName: "db-image",
        runPreRefreshChecksAfterFirstUnitRefreshed: () => {
          world.precheckCalls += 1;
          if (world.precheckFailure !== undefined) throw new PrecheckFailed(world.precheckFailure);
        },
      });
    } catch (error) {
      const code = (error as RefreshError).code;
      if (code === "PEER_RELATION_NOT_READY" || code === "UNIT_TEARING_DOWN" || code === "KUBERNETES_JUJU_APP_NOT_TRUSTED") {
        if (code !== "KUBERNETES_JUJU_APP_NOT_TRUSTED") world.running.delete(unit);
        return;
      }
      throw error;
    }
    const podRevision = refresh.summary.units.find((candidate) => candidate.name === unit);
    if (run.context.event.kind === "hook" && run.context.event.name === "stop") {
      // Already stopped above.
    } else if (refresh.workloadAllowedToStart) {
      world.running.set(unit, podRevision?.upToDate === true ? "current" : "previous");
      if (!refresh.nextUnitAllowedToRefresh) await refresh.allowNextUnitToRefresh();
    } else {
      world.running.delete(unit);
    }
    const unitStatus = refresh.unitStatusHigherPriority ?? refresh.unitStatusLowerPriority({ workloadIsRunning: world.running.has(unit) });
    await run.tools.statusSet(unitStatus === undefined ? { status: "active", message: "" } : { status: unitStatus.kind, message: unitStatus.message });
    if (await run.tools.isLeader()) {
      const appStatus = refresh.appStatusHigherPriority;
      await run.tools.statusSet(appStatus === undefined ? { status: "active", message: "" } : { status: appStatus.kind, message: appStatus.message }, { application: true });
    }
  };
  return {
    revision,
    image: `${IMAGE}@${DIGEST(revision)}`,
    handler,
    files: {
      "metadata.yaml": [
        "name: db",
        "containers:",
        "  database:",
        "    resource: db-image",
        "resources:",
        "  db-image:",
        "    type: oci-image",
        `    upstream-source: ${IMAGE}@${DIGEST(revision)}`,
        "peers:",
        "  refresh-v-three:",
        "    interface: refresh",
      ].join("\n"),
      "config.yaml": "options:\n  pause-after-unit-refresh:\n    type: string\n    default: first\n",
      "actions.yaml": ACTIONS_YAML,
      "refresh_versions.toml": `charm = "${charmVersion}"\nworkload = "${workloadVersion}"\n`,
    },
  };
}

interface Setup {
  sim: Simulator;
  world: CharmWorld;
  server: FakeKubernetesApiServer;
  cluster: FakeKubernetesCluster;
}

let current: Setup | undefined;

afterEach(async () => {
  if (current === undefined) return;
  const { sim, server } = current;
  current = undefined;
  await sim.dispose();
  await server.close();
  expect(sim.violations).toEqual([]);
});

async function setup(options: { seed?: number; units?: number; pause?: string } = {}): Promise<Setup> {
  const cluster = new FakeKubernetesCluster({ namespace: "test-model" });
  const server = await FakeKubernetesApiServer.start({ cluster });
  const account = await server.writeServiceAccount("db");
  const world: CharmWorld = { precheckFailure: undefined, precheckCalls: 0, running: new Map() };
  const sim = await createSimulator({
    substrate: "kubernetes",
    seed: options.seed ?? 1,
    appName: "db",
    charms: [
      charmRevision(10, "14/1.0.0", "14.9", world),
      charmRevision(11, "14/1.1.0", "14.10", world),
      charmRevision(12, "14/2.0.0", "15.1", world),
    ],
    statefulSet: (app, initial) => ClusterStatefulSetDriver.deploy(cluster, app, initial, { workloadContainer: "database" }),
    environment: account.env,
  });
  addInvariants(sim);
  current = { sim, world, server, cluster };
  await sim.deploy({ revision: 10, units: options.units ?? 3, config: { "pause-after-unit-refresh": options.pause ?? "first" } });
  await sim.settle();
  return current;
}

function addInvariants(sim: Simulator): void {
  let originals: string | undefined;
  sim.addInvariant("partition never above the highest unit", (s) => {
    const pods = s.statefulSet?.pods() ?? [];
    const highest = Math.max(...pods.map((pod) => pod.ordinal));
    const partition = s.statefulSet?.partition ?? 0;
    return pods.length > 0 && partition > highest ? `partition ${partition} is above unit ${highest}` : undefined;
  });
  sim.addInvariant("original versions kept while a refresh is in progress", (s) => {
    const pods = s.statefulSet?.pods() ?? [];
    const inProgress = pods.some((pod) => pod.revision !== s.statefulSet?.updateRevision);
    const now = s.appData()["original_charm_version"];
    if (!inProgress) {
      originals = now;
      return undefined;
    }
    return originals !== undefined && now === undefined ? "the original versions vanished mid-refresh" : undefined;
  });
  sim.addInvariant("a refreshed workload runs only once its refresh started", (s) => {
    const sts = s.statefulSet;
    if (sts === undefined) return undefined;
    const started = new Set(
      [...s.units.map((unit) => s.unitData(unit)), s.appData()]
        .map((data) => data["refresh_started_if_app_controller_revision_hash_in"])
        .filter((value) => value !== undefined)
        .flatMap((value) => JSON.parse(value) as string[]),
    );
    const inProgress = sts.pods().some((pod) => pod.revision !== sts.updateRevision);
    if (!inProgress) return undefined;
    const originalRevision = Number(JSON.parse(s.appData()["original_charm_revision"] ?? '"-0"').split("-").at(-1));
    for (const unit of s.units) {
      const pod = s.pod(unit);
      if (pod === undefined || !current?.world.running.has(unit)) continue;
      // The highest unit starts its workload within the hook that marks the refresh started;
      // that mark is committed at the hook's end, but its local marker file exists at once.
      const markedInPod = existsSync(join(s.charmDir(unit), ".charm_refresh_v3", "kubernetes_refresh_started"));
      if (pod.charmRevision !== originalRevision && !started.has(pod.revision) && !markedInPod) {
        return `${unit} runs its workload on ${pod.revision} (charm ${pod.charmRevision}) before the refresh started`;
      }
    }
    return undefined;
  });
}

function revisions(sim: Simulator): number[] {
  return sim.units.map((unit) => sim.charmRevision(unit));
}

describe("refreshes in the simulator, over HTTPS to the fake API server", () => {
  it("pause first: one unit, resume-refresh, then the rest by themselves", async () => {
    const { sim, cluster } = await setup({ pause: "first" });
    sim.refresh({ to: 11 });
    await sim.settle();
    expect(revisions(sim)).toEqual([10, 10, 11]);
    expect(cluster.statefulSet("db").partition).toBe(2);
    expect(sim.appStatus()).toMatchObject({ status: "blocked" });

    const resumed = await sim.runAction("leader", "resume-refresh");
    expect(resumed).toMatchObject({ status: "completed", results: { result: "Refresh resumed. Unit 1 is refreshing next" } });
    await sim.settle();
    expect(revisions(sim)).toEqual([11, 11, 11]);
    sim.fireUpdateStatus();
    await sim.settle();
    expect(cluster.statefulSet("db").partition).toBe(0);
    expect(sim.appStatus()).toMatchObject({ status: "active", message: "" });
    expect(JSON.parse(sim.appData()["original_charm_version"] ?? "null")).toBe("14/1.1.0");
  });

  it("pause none: completes without any action", async () => {
    const { sim } = await setup({ pause: "none" });
    sim.refresh({ to: 11 });
    await sim.settle();
    expect(revisions(sim)).toEqual([11, 11, 11]);
  });

  it("a failing pre-refresh check holds the refresh until force-refresh-start", async () => {
    const { sim, world, cluster } = await setup({ pause: "none" });
    world.precheckFailure = "Backup in progress";
    sim.refresh({ to: 11 });
    await sim.settle();
    expect(revisions(sim)).toEqual([10, 10, 11]);
    expect(sim.unitStatus("db/2").message).toContain("Pre-refresh check failed: Backup in progress");
    expect(world.running.has("db/2")).toBe(false);
    expect(cluster.statefulSet("db").partition).toBe(2);
    const forced = await sim.runAction("db/2", "force-refresh-start", { "run-pre-refresh-checks": false });
    expect(forced.status).toBe("completed");
    await sim.settle();
    expect(revisions(sim)).toEqual([11, 11, 11]);
  });

  it("a refresh to an incompatible major version stops at the highest unit", async () => {
    const { sim, world } = await setup({ pause: "none" });
    sim.refresh({ to: 12 });
    await sim.settle();
    expect(revisions(sim)).toEqual([10, 10, 12]);
    expect(sim.unitStatus("db/2")).toMatchObject({ status: "blocked" });
    expect(sim.unitStatus("db/2").message).toContain("incompatible");
    expect(world.precheckCalls).toBe(0);
  });

  it("a wrong OCI resource is refused", async () => {
    const { sim } = await setup({ pause: "none" });
    sim.refresh({ to: 11, resource: `${IMAGE}@${DIGEST(10)}` });
    await sim.settle();
    expect(revisions(sim)).toEqual([10, 10, 11]);
    expect(sim.unitStatus("db/2").message).toContain("OCI resource");
  });

  it("a rollback half way skips the checks and brings every unit back", async () => {
    const { sim, world } = await setup({ units: 4, pause: "all" });
    sim.refresh({ to: 11 });
    await sim.settle();
    await sim.runAction("leader", "resume-refresh");
    await sim.settle();
    expect(revisions(sim)).toEqual([10, 10, 11, 11]);
    const checks = world.precheckCalls;
    sim.refresh({ to: 10 });
    await sim.settle();
    for (let step = 0; step < 4 && revisions(sim).some((revision) => revision !== 10); step++) {
      await sim.runAction("leader", "resume-refresh");
      await sim.settle();
    }
    expect(revisions(sim)).toEqual([10, 10, 10, 10]);
    expect(world.precheckCalls).toBe(checks);
  });

  it("scale up and down during a refresh", async () => {
    const { sim, cluster } = await setup({ pause: "all" });
    sim.refresh({ to: 11 });
    await sim.settle();
    await sim.addUnit(1);
    await sim.settle();
    sim.removeUnit();
    await sim.settle();
    expect(cluster.statefulSet("db").partition).toBeLessThanOrEqual(Math.max(...sim.units.map((unit) => Number(unit.split("/")[1]))));
    for (let step = 0; step < 4 && sim.units.some((unit) => sim.charmRevision(unit) !== 11); step++) {
      await sim.runAction("leader", "resume-refresh");
      await sim.settle();
    }
    expect(sim.units.every((unit) => sim.charmRevision(unit) === 11)).toBe(true);
  });

  it("an untrusted application shows how to trust it and never patches", async () => {
    const { sim, cluster } = await setup({ pause: "none" });
    cluster.statefulSet("db").setTrusted(false);
    sim.refresh({ to: 11 });
    await sim.settle();
    expect(sim.appStatus().message).toContain("juju trust db --scope=cluster");
    expect(cluster.statefulSet("db").partition).toBe(0);
  });

  it("API server failures fail hooks, which Juju retries until the refresh goes on", async () => {
    const { sim, server } = await setup({ pause: "none" });
    sim.refresh({ to: 11 });
    server.faults.failNext(3, { status: 503 });
    await sim.settle();
    sim.fireUpdateStatus();
    await sim.settle();
    expect(revisions(sim)).toEqual([11, 11, 11]);
  });
});

describe("the invariants hold for any seed", () => {
  it("over seeded interleavings with evictions, leader changes and failing hooks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom("all", "first", "none"),
        fc.array(fc.constantFrom("evict", "leader", "fail", "resume", "update-status"), { minLength: 1, maxLength: 4 }),
        async (seed, pause, disruptions) => {
          const { sim, server } = await setup({ seed, pause });
          try {
            sim.refresh({ to: 11 });
            for (const disruption of disruptions) {
              const unit = sim.units[seed % sim.units.length] as string;
              if (disruption === "evict") sim.evict(unit);
              if (disruption === "leader") sim.setLeader(unit);
              if (disruption === "fail") sim.failNextHook(unit);
              if (disruption === "update-status") sim.fireUpdateStatus();
              await sim.settle();
              if (disruption === "resume") await sim.runAction("leader", "resume-refresh");
            }
            for (let step = 0; step < 4; step++) {
              await sim.runAction("leader", "resume-refresh");
              await sim.settle();
            }
            expect(sim.violations).toEqual([]);
            expect(revisions(sim)).toEqual([11, 11, 11]);
          } finally {
            current = undefined;
            await sim.dispose();
            await server.close();
          }
        },
      ),
      { numRuns: 8, seed: 4242 },
    );
  }, 240_000);
});
