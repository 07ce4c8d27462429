import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openWorld, removeProcessCharms, type SimWorld, type SimWorldOptions } from "./__tests__/sim-world.js";

// The same test charm, bundled as `charm-build` bundles a real one and run through its own
// `dispatch` for every hook: hook tools on PATH, the HTTPS client reading the service account
// from the environment, KubernetesInvariants after every hook. Each hook is a Node process
// (~0.3 s here), so these scenarios are few and small.

const PROCESS_TIMEOUT = 240_000;

let current: SimWorld | undefined;

afterEach(async () => {
  const finished = current;
  current = undefined;
  if (finished === undefined) return;
  await finished.dispose();
  expect(finished.sim.violations).toEqual([]);
});

afterAll(async () => {
  await removeProcessCharms();
});

async function open(options: SimWorldOptions): Promise<SimWorld> {
  current = await openWorld({ ...options, mode: "process" });
  return current;
}

function failedHooks(w: SimWorld): string[] {
  return w.sim.history.filter((record) => record.outcome === "failed").map((record) => `${record.unit} ${record.hook}: ${record.error ?? ""} ${record.stderr ?? ""}`);
}

describe("refreshes through a real dispatch", { timeout: PROCESS_TIMEOUT }, () => {
  it("pause first: the first unit, resume-refresh, then the rest", async () => {
    const w = await open({ units: 3, pause: "first", seed: 3 });
    expect(failedHooks(w)).toEqual([]);
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10, 11]);
    expect(w.sim.statefulSet?.partition).toBe(2);
    expect(w.sim.appStatus()).toMatchObject({ status: "blocked", message: expect.stringContaining("resume-refresh") });
    expect(w.workloadRunning("db/2")).toBe(true);

    const resumed = await w.runAction("leader", "resume-refresh");
    expect(resumed).toMatchObject({ status: "completed", results: { result: "Refresh resumed. Unit 1 is refreshing next" } });
    await w.sim.settle();
    expect(w.revisions()).toEqual([11, 11, 11]);
    expect(w.sim.units.every((unit) => w.workloadRunning(unit))).toBe(true);
    expect(w.sim.history.every((record) => record.hook.startsWith("action") || record.outcome === "succeeded")).toBe(true);
  });

  it("a failed pre-refresh check, then a rollback that needs no check", async () => {
    const w = await open({ units: 2, pause: "none", seed: 5 });
    await w.setPrecheckFailure("Replication lag too high");
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 11]);
    expect(w.sim.unitStatus("db/1")).toMatchObject({ status: "blocked", message: expect.stringContaining("Pre-refresh check failed: Replication lag too high") });
    expect(w.workloadRunning("db/1")).toBe(false);
    expect(w.workloadRunning("db/0")).toBe(true);
    const calls = w.precheckCalls();
    expect(calls).toBeGreaterThan(0);

    w.sim.refresh({ to: 10 });
    await w.sim.settle();
    expect(w.revisions()).toEqual([10, 10]);
    expect(w.precheckCalls()).toBe(calls);
    expect(w.sim.units.every((unit) => w.workloadRunning(unit))).toBe(true);
    w.sim.fireUpdateStatus();
    await w.sim.settle();
    expect(w.sim.appStatus()).toEqual({ status: "active", message: "" });
  });

  it("an untrusted application: blocked with the trust command, workloads of new pods kept stopped", async () => {
    const w = await open({ units: 2, pause: "none", seed: 7, trusted: false });
    expect(w.sim.appStatus().message).toContain("juju trust db --scope=cluster");
    w.sim.refresh({ to: 11 });
    await w.sim.settle();
    expect(w.sim.statefulSet?.partition).toBe(0);
    expect(w.sim.units.some((unit) => w.workloadRunning(unit))).toBe(false);
  });
});
