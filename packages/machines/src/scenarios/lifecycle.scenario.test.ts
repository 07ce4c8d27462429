import { readFileSync } from "node:fs";
import fc from "fast-check";
import { formatPythonFloat } from "@refresh/core";
import { afterEach, describe, expect, it } from "vitest";
import { deployTestCharm, snaps, V1, V2, type TestWorld } from "./testCharm.js";

const FIXTURE = "/work/shared/reference/fixtures/python-v3-machines-databag-writes.txt";

let world: TestWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The writes in the fixture: databag ("unit" or "app"), key and stored text. */
function fixtureWrites(): { bag: "unit" | "app"; key: string; value: string }[] {
  const lines = readFileSync(FIXTURE, "utf8").split("\n");
  const writes: { bag: "unit" | "app"; key: string; value: string }[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    if (!line.startsWith("relation-set")) continue;
    const payload = JSON.parse(lines[index + 1] ?? "{}") as Record<string, string>;
    for (const [key, value] of Object.entries(payload)) writes.push({ bag: line.includes("--app") ? "app" : "unit", key, value });
  }
  return writes;
}

describe("interoperability with the Python library", () => {
  it("stores every value the Python library writes in steady state, byte for byte", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3 });
    const leader = world.sim.status().units.find((row) => row.leader)?.name ?? "";
    const unitData = world.sim.unitData(leader);
    const appData = world.sim.appData();
    const entry = JSON.parse(unitData["last_refresh_to_up_to_date_charm_code_version"] ?? "{}") as { charm_revision: string; time_of_refresh: number };
    const writes = fixtureWrites();
    expect(writes.length).toBe(8);
    for (const write of writes) {
      // The fixture ran as app-602 at another time; the spelling is what must match.
      const expected = write.value
        .replaceAll("ch:amd64/noble/app-602", entry.charm_revision)
        .replace(/"time_of_refresh": [0-9.e+-]+/, `"time_of_refresh": ${formatPythonFloat(entry.time_of_refresh)}`);
      const actual = (write.bag === "app" ? appData : unitData)[write.key];
      expect({ key: write.key, value: actual }).toEqual({ key: write.key, value: expected });
    }
  });

  it("makes no relation-set in a steady-state event", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3 });
    const before = world.sim.history.length;
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    const hooks = world.sim.history.slice(before);
    expect(hooks.length).toBe(3);
    for (const hook of hooks) expect(hook.toolCalls["relation-set"] ?? 0).toBe(0);
  });
});

describe("machines refresh lifecycle in the simulator", () => {
  it("retries a failed snap refresh on a later event and does not retry within one", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 2, pause: "none" });
    (await world.machine("db/1")).failNextRefresh();
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183" });
    const attempts = world.refreshes.filter((refresh) => refresh.unit === "db/1");
    expect(attempts.length).toBe(2);
    expect(world.sim.history.some((hook) => hook.unit === "db/1" && hook.outcome === "failed")).toBe(true);
    expect(world.sim.violations).toEqual([]);
  });

  it("a unit whose charm code changed without upgrade-charm is confirmed by config-changed, then refreshes", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 2, pause: "none" });
    world.sim.refresh({ to: 613, skipUpgradeCharm: ["db/1"] });
    await world.sim.settle();
    expect(world.sim.hooksOf("db/1")).not.toContain("upgrade-charm");
    const confirmed = world.sim.logs.find((line) => line.unit === "db/1" && line.message.includes("confirmed up to date"));
    expect(confirmed?.hook).toBe("config-changed");
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183" });
    expect(world.sim.violations).toEqual([]);
  });

  it("scale-up during a refresh: new units wait for the peer relation, then go first", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 2, pause: "none" });
    world.unhealthy.add("db/1");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "183" });
    await world.sim.addUnit(2);
    world.unhealthy.clear();
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183", "db/3": "183" });
    expect(world.sim.violations).toEqual([]);
  });

  it("scale-down of the first unit before the checks pass hands the checks to the next one", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none" });
    world.failingPrecheck.add("any");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(world.sim.unitStatus("db/2").status).toBe("blocked");
    world.sim.removeUnit("db/2");
    await world.sim.settle();
    expect(world.sim.unitStatus("db/1")).toMatchObject({ status: "blocked" });
    world.failingPrecheck.clear();
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(world.installed("db/1")).toBe("183");
    expect(world.installed("db/0")).toBe("183");
    expect(world.sim.violations).toEqual([]);
  });

  it("a leader change mid-refresh keeps the refresh going and the original versions intact", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "first" });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    const originals = world.sim.appData();
    world.sim.setLeader("db/1");
    await world.sim.settle();
    expect(world.sim.appData()).toEqual(originals);
    expect(world.sim.appStatus()).toMatchObject({ status: "blocked", message: expect.stringContaining("resume-refresh on unit 1") as unknown });
    await world.sim.runAction("db/1", "resume-refresh");
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
    expect(world.sim.violations).toEqual([]);
  });

  it("holds the invariants for random hook interleavings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom("none" as const, "first" as const), async (seed, pause) => {
        const run = await deployTestCharm({ revisions: [V1, V2], units: 3, seed, pause });
        try {
          run.sim.refresh({ to: 613 });
          await run.sim.settle();
          if (pause === "first") await run.sim.runAction("db/1", "resume-refresh");
          await run.sim.settle();
          expect(snaps(run)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
          expect(run.sim.violations).toEqual([]);
        } finally {
          await run.close();
        }
      }),
      { numRuns: 8 },
    );
  });
});
