import { afterEach, describe, expect, it } from "vitest";
import { deployTestCharm, snaps, V1, V2, type TestWorld } from "./testCharm.js";

let world: TestWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function expectNoViolations(w: TestWorld): void {
  expect(w.sim.violations).toEqual([]);
}

describe("machines refresh in the simulator", () => {
  it("deploys: every unit installs the pinned snap and the leader saves the original versions", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3 });
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182" });
    expect(world.sim.appData()).toMatchObject({
      original_workload_version: '"16.4"',
      original_workload_container_version: '"182"',
      original_installed_workload_container_matched_pinned_container: "true",
      original_charm_version: '"16/1.19.0"',
    });
    expectNoViolations(world);
  });

  it("pause first: the first unit refreshes, the second waits for resume-refresh on the right unit, then the rest go", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "first" });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183" });
    expect(world.sim.appStatus()).toMatchObject({ status: "blocked", message: expect.stringContaining("resume-refresh on unit 1") as unknown });

    const wrong = await world.sim.runAction("db/0", "resume-refresh");
    expect(wrong).toMatchObject({ status: "failed", message: expect.stringContaining("unit 1") as unknown });
    const resumed = await world.sim.runAction("db/1", "resume-refresh");
    expect(resumed.status).toBe("completed");
    expect(resumed.results).toEqual({ result: "Refresh resumed; unit 1 has refreshed" });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
    expect(world.sim.appData()).toMatchObject({ original_workload_container_version: '"183"', original_charm_version: '"16/1.20.0"' });
    expectNoViolations(world);
  });

  it("pause all: every unit after the first needs resume-refresh", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "all" });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183" });
    await world.sim.runAction("db/1", "resume-refresh");
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "183", "db/2": "183" });
    const last = await world.sim.runAction("db/0", "resume-refresh");
    expect(last.results).toEqual({ result: "Refreshed unit 0" });
    expectNoViolations(world);
  });

  it("pause none: all units refresh one after the other without the user", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none" });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
    expect(world.refreshes.map((refresh) => refresh.unit)).toEqual(["db/2", "db/1", "db/0"]);
    expectNoViolations(world);
  });

  it("an unhealthy refreshed unit holds the others back", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none" });
    world.unhealthy.add("db/2");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183" });
    world.unhealthy.delete("db/2");
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
    expectNoViolations(world);
  });

  it("an incompatible refresh changes no snap until force-refresh-start on the first unit", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3 });
    world.incompatible = true;
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182" });
    expect(world.sim.appStatus()).toMatchObject({ status: "blocked", message: expect.stringContaining("incompatible") as unknown });

    expect(await world.sim.runAction("db/1", "force-refresh-start", { "check-compatibility": false })).toMatchObject({ status: "failed", message: expect.stringContaining("unit 2") as unknown });
    const allChecksOn = await world.sim.runAction("db/2", "force-refresh-start");
    expect(allChecksOn).toMatchObject({ status: "failed", message: expect.stringContaining("false") as unknown });
    // The command it points at names the application, so it can be run as shown.
    expect(allChecksOn.message).toContain("`juju show-action db force-refresh-start`");
    const forced = await world.sim.runAction("db/2", "force-refresh-start", { "check-compatibility": false });
    expect(forced).toMatchObject({ status: "completed", results: { result: "Refreshed unit 2" } });
    expect(forced.logs).toEqual(expect.arrayContaining(["Skipped the compatibility check", "Refreshing unit 2"]));
    expect(snaps(world)["db/2"]).toBe("183");
    expectNoViolations(world);
  });

  it("force-refresh-start validates its parameters as core does: an unknown one is refused, never taken for a skipped check", async () => {
    // Juju refuses parameters actions.yaml does not declare, so an unknown one arrives only
    // when the charm's action definitions drifted from the library's.
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, extraForceRefreshStartParams: ["check-everything"] });
    world.incompatible = true;
    world.sim.refresh({ to: 613 });
    await world.sim.settle();

    const unknown = await world.sim.runAction("db/2", "force-refresh-start", { "check-everything": false });
    expect(unknown.status).toBe("failed");
    expect(unknown.message).toContain('force-refresh-start parameter "check-everything": is not a parameter of this action');
    expect(unknown.message).toContain("`juju show-action db force-refresh-start`");
    expect(snaps(world)["db/2"]).toBe("182");
    expect(world.sim.logs.some((line) => line.message.includes("forced with"))).toBe(false);
    expectNoViolations(world);
  });

  it("force-refresh-start accepts check-workload-container, which charms migrated from the Python library still declare", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3 });
    world.incompatible = true;
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    const forced = await world.sim.runAction("db/2", "force-refresh-start", { "check-workload-container": false, "check-compatibility": false });
    expect(forced).toMatchObject({ status: "completed", results: { result: "Refreshed unit 2" } });
    expect(world.sim.logs.some((line) => line.message.includes("(forced with check-workload-container=false, check-compatibility=false)"))).toBe(true);
    expectNoViolations(world);
  });

  it("a failing pre-refresh check blocks the first unit until forced", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3 });
    world.failingPrecheck.add("any");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182" });
    expect(world.sim.unitStatus("db/2")).toMatchObject({ status: "blocked", message: expect.stringContaining("replication lag too high") as unknown });
    const resume = await world.sim.runAction("db/2", "resume-refresh");
    expect(resume.status).toBe("failed");
    const forced = await world.sim.runAction("db/2", "force-refresh-start", { "run-pre-refresh-checks": false });
    expect(forced.results).toEqual({ result: "Refreshed unit 2" });
    expectNoViolations(world);
  });

  it("rolls back half way without checks, highest unit first", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none" });
    world.unhealthy.add("db/1");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "183", "db/2": "183" });
    world.failingPrecheck.add("any");
    world.unhealthy.clear();
    world.sim.refresh({ to: 602 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182" });
    expect(world.sim.appData()).toMatchObject({ original_workload_container_version: '"182"', original_charm_version: '"16/1.19.0"' });
    expectNoViolations(world);
  });

  it("a single-unit app refreshes at once", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 1, pause: "all" });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183" });
    expectNoViolations(world);
  });

  it("pre-refresh-check runs only on the leader and only before a refresh", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 2 });
    const result = await world.sim.runAction("leader", "pre-refresh-check");
    expect(result.status).toBe("completed");
    expect(String(result.results["result"])).toContain("juju refresh db --revision 602");
    const leader = world.sim.status().units.find((row) => row.leader)?.name;
    const other = world.sim.status().units.find((row) => !row.leader)?.name ?? "";
    expect(leader).toBeDefined();
    expect(await world.sim.runAction(other, "pre-refresh-check")).toMatchObject({ status: "failed" });
  });
});

describe("reads issued together stay deterministic", () => {
  async function trace(seed: number): Promise<string[]> {
    const w = await deployTestCharm({ revisions: [V1, V2], units: 3, seed, pause: "first" });
    try {
      w.sim.refresh({ to: 613 });
      await w.sim.settle();
      await w.sim.runAction("db/1", "resume-refresh");
      await w.sim.settle();
      expect(w.sim.violations).toEqual([]);
      return w.sim.history.map((record) => `${record.unit} ${record.hook} ${record.outcome} ${JSON.stringify(Object.entries(record.toolCalls).sort())}`);
    } finally {
      await w.close();
    }
  }

  it.each([2, 9])("seed %i: the same refresh twice gives the same hooks and calls", async (seed) => {
    expect(await trace(seed)).toEqual(await trace(seed));
  });
});
