import { afterEach, describe, expect, it } from "vitest";
import { API_TIMEOUT_FILE } from "./__tests__/sim-charm.js";
import { DIGEST, IMAGE, openWorld, type SimWorld, type SimWorldOptions } from "./__tests__/sim-world.js";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

// Whole refreshes in @refresh/testing's simulator (createWorld, in-process): the real HTTPS
// client talks to the fake API server, whose StatefulSet the simulator rolls; hooks of
// different units interleave in a seeded order; relation writes commit only when a hook
// succeeds; KubernetesInvariants run after every hook.

let current: SimWorld | undefined;

afterEach(async () => {
  const finished = current;
  current = undefined;
  if (finished === undefined) return;
  await finished.dispose();
  expect(finished.sim.violations).toEqual([]);
});

async function open(options: SimWorldOptions = {}): Promise<SimWorld> {
  current = await openWorld(options);
  return current;
}

function partition(w: SimWorld): number {
  return w.sim.statefulSet?.partition ?? -1;
}

/** Resumes (on the leader) until every unit runs `revision`, at most `limit` times. */
async function resumeUntilAllOn(w: SimWorld, revision: number, limit = 5): Promise<void> {
  for (let step = 0; step < limit && w.revisions().some((r) => r !== revision); step++) {
    await w.runAction("leader", "resume-refresh");
    await w.sim.settle();
  }
}

describe("refreshes in the simulator, in process, over HTTPS to the fake API server", () => {
  it("pause first: one unit, resume-refresh, then the rest by themselves", async () => {
    const w = await open({ pause: "first" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);
    expect(partition(w)).toBe(2);
    expect(w.sim.appStatus()).toMatchObject({ status: "blocked" });
    expect(w.workloadRunning("db/2")).toBe(true);

    const resumed = await w.runAction("leader", "resume-refresh");
    expect(resumed).toMatchObject({ status: "completed", results: { result: "Refresh resumed. Unit 1 is refreshing next" } });
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
    w.sim.fireUpdateStatus();
    await w.sim.settle();
    expect(partition(w)).toBe(0);
    expect(w.sim.appStatus()).toEqual({ status: "active", message: "" });
    expect(JSON.parse(w.sim.appData()["original_charm_version"] ?? "null")).toBe("14/1.1.0");
    expect(w.sim.units.every((unit) => w.workloadRunning(unit))).toBe(true);
  });

  it("pause all: one unit per resume-refresh", async () => {
    const w = await open({ pause: "all" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect((await w.runAction("leader", "resume-refresh")).results).toEqual({ result: "Unit 1 is refreshing next" });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 11, 11]);
    expect(w.sim.appStatus()).toMatchObject({ status: "blocked" });
    await w.runAction("leader", "resume-refresh");
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
  });

  it("pause none: completes without any action", async () => {
    const w = await open({ pause: "none" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
    expect(w.precheckCalls()).toBe(1);
  });

  it("a failing pre-refresh check holds the refresh until force-refresh-start run-pre-refresh-checks=false", async () => {
    const w = await open({ pause: "none" });
    await w.setPrecheckFailure("Backup in progress");
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);
    expect(w.sim.unitStatus("db/2").message).toContain("Pre-refresh check failed: Backup in progress");
    expect(w.workloadRunning("db/2")).toBe(false);
    expect(partition(w)).toBe(2);
    // With pause none, resume-refresh only has the health override to offer.
    const refused = await w.runAction("leader", "resume-refresh");
    expect(refused).toMatchObject({ status: "failed", message: expect.stringContaining("check-health-of-refreshed-units=false") });

    const forced = await w.runAction("db/2", "force-refresh-start", { "run-pre-refresh-checks": false });
    expect(forced.status).toBe("completed");
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
  });

  it("an incompatible refresh stops at the highest unit until force-refresh-start check-compatibility=false", async () => {
    const w = await open({ pause: "none" });
    w.sim.refresh({ to: 13 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 13]);
    expect(w.sim.unitStatus("db/2")).toMatchObject({ status: "blocked" });
    expect(w.sim.unitStatus("db/2").message).toContain("incompatible");
    expect(w.precheckCalls()).toBe(0);
    expect(w.workloadRunning("db/2")).toBe(false);

    const forced = await w.runAction("db/2", "force-refresh-start", { "check-compatibility": false });
    expect(forced.status).toBe("completed");
    // Skipping one check still runs the others.
    expect(w.precheckCalls()).toBe(1);
    await w.sim.settle();
    expect(w.revisions()).toEqual([13, 13, 13]);
  });

  it("a wrong OCI resource is refused, and forcing past it needs check-compatibility=false too", async () => {
    const w = await open({ pause: "none" });
    w.sim.refresh({ to: 11, resource: `${IMAGE}@${DIGEST(10)}` });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);
    expect(w.sim.unitStatus("db/2").message).toContain("OCI resource");
    expect(w.workloadRunning("db/2")).toBe(false);

    const containerOnly = await w.runAction("db/2", "force-refresh-start", { "check-workload-container": false });
    expect(containerOnly.status).toBe("failed");
    expect(containerOnly.message).toContain("incompatible");
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);

    const both = await w.runAction("db/2", "force-refresh-start", { "check-workload-container": false, "check-compatibility": false });
    expect(both.status).toBe("completed");
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
  });

  it("force-refresh-start refuses the wrong unit, all checks on, no refresh, and an already started refresh", async () => {
    const w = await open({ pause: "all" });
    const idle = await w.runAction("db/2", "force-refresh-start", { "check-compatibility": false });
    expect(idle).toMatchObject({ status: "failed", message: expect.stringContaining("No refresh") });

    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    const wrongUnit = await w.runAction("db/1", "force-refresh-start", { "check-compatibility": false });
    expect(wrongUnit).toMatchObject({ status: "failed", message: expect.stringContaining("unit 2") });
    const allChecks = await w.runAction("db/2", "force-refresh-start");
    expect(allChecks.status).toBe("failed");
    const started = await w.runAction("db/2", "force-refresh-start", { "run-pre-refresh-checks": false });
    expect(started).toMatchObject({ status: "failed", message: expect.stringContaining("already refreshed") });
  });

  it("a rollback half way skips the checks and brings every unit back", async () => {
    const w = await open({ units: 4, pause: "all" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    await w.runAction("leader", "resume-refresh");
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11, 11]);
    const checks = w.precheckCalls();
    w.sim.refresh({ to: 10 });
    await w.sim.settle();
    await resumeUntilAllOn(w, 10);
    expect(w.revisions()).toEqual([10, 10, 10, 10]);
    expect(w.precheckCalls()).toBe(checks);
  });

  it("a third version mid-refresh runs the checks again against the original versions", async () => {
    const w = await open({ pause: "first" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);
    const checks = w.precheckCalls();
    w.sim.refresh({ to: 12 });
    await w.sim.settle();
    expect(w.precheckCalls()).toBeGreaterThan(checks);
    expect(JSON.parse(w.sim.appData()["original_charm_version"] ?? "null")).toBe("14/1.0.0");
    await resumeUntilAllOn(w, 12);
    expect(w.revisions()).toEqual([12, 12, 12]);
  });

  it("scale up and down during a refresh", async () => {
    const w = await open({ pause: "all" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    await w.sim.addUnit(1);
    await w.sim.settle();
    w.sim.removeUnit();
    await w.sim.settle();
    await resumeUntilAllOn(w, 11);
    expect(w.sim.units.every((unit) => w.sim.charmRevision(unit) === 11)).toBe(true);
  });

  it("a leader change mid-refresh: the new leader resumes it", async () => {
    const w = await open({ pause: "all" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    w.sim.setLeader("db/2");
    await w.sim.settle();
    const refused = await w.runAction("db/0", "resume-refresh");
    expect(refused).toMatchObject({ status: "failed", message: expect.stringContaining("leader") });
    await resumeUntilAllOn(w, 11);
    expect(w.revisions()).toEqual([11, 11, 11]);
    expect(w.sim.leader).toBe("db/2");
  });

  it("evicting a refreshed and an outdated pod mid-refresh keeps each on its revision", async () => {
    const w = await open({ pause: "all" });
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    w.evict("db/2");
    await w.sim.settle();
    w.evict("db/0");
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);
    expect(partition(w)).toBe(2);
    expect(w.sim.units.every((unit) => w.workloadRunning(unit))).toBe(true);
    await resumeUntilAllOn(w, 11);
    expect(w.revisions()).toEqual([11, 11, 11]);
  });

  it("an outdated pod evicted as juju refresh runs comes back refreshed, yet its workload waits for the refresh to start", async () => {
    const w = await open({ pause: "all" });
    await w.setPrecheckFailure("Backup in progress");
    // Evicted while the partition (0, idle) covers every pod: its new pod is on the new revision.
    w.evict("db/1");
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 11, 11]);
    expect(w.workloadRunning("db/1")).toBe(false);
    expect(w.workloadRunning("db/2")).toBe(false);
    expect(w.workloadRunning("db/0")).toBe(true);
    await w.setPrecheckFailure(undefined);
    w.sim.fireUpdateStatus();
    await w.sim.settle();
    expect(w.workloadRunning("db/1")).toBe(true);
    await resumeUntilAllOn(w, 11);
    expect(w.revisions()).toEqual([11, 11, 11]);
  });

  it("an untrusted application shows how to trust it and never patches", async () => {
    const w = await open({ pause: "none" });
    w.world.kubernetes?.setTrusted(false);
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.sim.appStatus().message).toContain("juju trust db --scope=cluster");
    expect(partition(w)).toBe(0);
    expect(w.world.kubernetes?.api.requests.filter((request) => request.method === "PATCH" && request.status === 200)).toEqual([]);
  });

  it("API server errors fail hooks, which Juju retries until the refresh goes on", async () => {
    const w = await open({ pause: "none" });
    w.sim.refresh({ to: 11 });
    w.world.kubernetes?.api.faults.failNext(3, { status: 503 });
    await w.sim.settle();
    w.sim.fireUpdateStatus();
    await w.sim.settle();
    expect(w.sim.history.some((record) => record.outcome === "failed")).toBe(true);
    expect(w.revisions()).toEqual([11, 11, 11]);
  });

  it("an API server that stops answering times out the hooks; they go on once it answers again", async () => {
    const w = await open({ pause: "none" });
    await writeFile(join(w.world.workloadDir, API_TIMEOUT_FILE), "300");
    const api = w.world.kubernetes?.api;
    if (api === undefined) throw new Error("a Kubernetes world has an API server");
    api.faults.hang({ method: "PATCH" });
    w.sim.refresh({ to: 11 });
    for (let step = 0; step < 12; step++) await w.sim.step();
    expect(w.sim.history.some((record) => record.outcome === "failed" && (record.error ?? "").includes("did not answer"))).toBe(true);
    api.faults.clear();
    await w.sim.settle();
    w.sim.fireUpdateStatus();
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
  }, 60_000);

  it("a single-unit application refreshes without checks (nothing to protect it with)", async () => {
    const w = await open({ units: 1, pause: "all" });
    await w.setPrecheckFailure("would fail");
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([11]);
    expect(w.precheckCalls()).toBe(0);
    expect(w.workloadRunning("db/0")).toBe(true);
    expect(JSON.parse(w.sim.appData()["original_charm_version"] ?? "null")).toBe("14/1.1.0");
  });
});

describe("reads issued together stay deterministic", () => {
  /** A refresh paused after the first unit, then resumed: every hook, its calls and every API request in order. */
  async function trace(seed: number): Promise<string[]> {
    const w = await openWorld({ seed, pause: "first" });
    try {
      w.sim.refresh({ to: 11 });
      await w.sim.settle();
      await w.runAction("leader", "resume-refresh");
      await w.sim.settle();
      expect(w.sim.violations).toEqual([]);
      const hooks = w.sim.history.map((record) => `${record.unit} ${record.hook} ${record.outcome} ${JSON.stringify(Object.entries(record.toolCalls).sort())}`);
      const requests = (w.world.kubernetes?.api.requests ?? []).map((request) => `${request.method} ${request.path} ${request.status}`);
      return [...hooks, ...requests];
    } finally {
      await w.dispose();
    }
  }

  it.each([3, 8])("seed %i: the same run twice, with hooks interleaving at tool calls and API requests", async (seed) => {
    expect(await trace(seed)).toEqual(await trace(seed));
  });
});
