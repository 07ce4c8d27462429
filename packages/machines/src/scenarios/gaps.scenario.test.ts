import { afterEach, describe, expect, it } from "vitest";
import { deployTestCharm, snaps, V1, V2, type TestWorld } from "./testCharm.js";

let world: TestWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const WAITING_FOR_EVENT = "Waiting for an upgrade-charm or config-changed event; see juju debug-log";

describe("machines scenarios beyond the happy path", () => {
  it("resume-refresh check-health-of-refreshed-units=false refreshes a low unit past an unhealthy one, and refuses a refreshed unit", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none" });
    world.unhealthy.add("db/2");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183" });

    const normal = await world.sim.runAction("db/0", "resume-refresh");
    expect(normal).toMatchObject({ status: "failed", message: expect.stringContaining("unit 1") as unknown });
    const forced = await world.sim.runAction("db/0", "resume-refresh", { "check-health-of-refreshed-units": false });
    expect(forced).toMatchObject({ status: "completed", results: { result: "Refreshed unit 0" } });
    expect(forced.logs).toEqual(["Ignoring the health of refreshed units", "Refreshing unit 0"]);
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "182", "db/2": "183" });

    const again = await world.sim.runAction("db/2", "resume-refresh", { "check-health-of-refreshed-units": false });
    expect(again).toMatchObject({ status: "failed", message: "Unit 2 is already refreshed" });
    await world.sim.settle();
    expect(world.sim.violations).toEqual([]);
  });

  it("a custom order (primary last) holds end to end and survives a leader change", async () => {
    // The "primary" is db/2; the charm refreshes it last, the rest highest first.
    const primaryLast = (units: readonly string[]) => {
      const rest = [...units].filter((unit) => unit !== "db/2").sort((a, b) => Number(b.split("/")[1]) - Number(a.split("/")[1]));
      return units.includes("db/2") ? [...rest, "db/2"] : rest;
    };
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none", refreshOrder: primaryLast });
    world.sim.setLeader("db/0");
    await world.sim.settle();
    world.unhealthy.add("db/1");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "183", "db/2": "182" });
    expect(world.sim.unitData("db/1")["refresh_order_if_this_units_databag_is_up_to_date"]).toBe('["db/1", "db/0", "db/2"]');

    world.sim.setLeader("db/2");
    world.unhealthy.clear();
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
    expect(world.refreshes.map((refresh) => refresh.unit)).toEqual(["db/1", "db/0", "db/2"]);
    expect(world.sim.appData()).toMatchObject({ original_workload_container_version: '"183"' });
    expect(world.sim.violations).toEqual([]);
  });

  it("a crash right after the snap refresh, then a rollback: unknown until the crashed unit publishes, then the rollback proceeds", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none", simulator: { retryFailedHooks: false } });
    world.sim.setLeader("db/0");
    await world.sim.settle();
    world.crashAfterSnapRefresh.add("db/2");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    // db/2 switched to 183, but the hook that did it failed: its databag still says 182.
    expect(world.installed("db/2")).toBe("183");
    expect(world.sim.unitData("db/2")["installed_snap_revision"]).toBe('"182"');
    expect(snaps(world)).toMatchObject({ "db/0": "182", "db/1": "182" });

    // db/2 keeps failing (killed at its first hook-tool call), so it cannot publish 183 yet.
    world.sim.failNextHook("db/2", { atToolCall: 1 });
    world.sim.refresh({ to: 602 });
    await world.sim.settle();
    expect(world.sim.appStatus()).toEqual({ status: "maintenance", message: "Determining whether a refresh is in progress" });
    // Any event on db/2 would publish its revision; the other units can only wait.
    const determining = await world.sim.runAction("db/1", "resume-refresh");
    expect(determining).toMatchObject({ status: "failed", message: expect.stringContaining("Still determining") as unknown });
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183" });

    world.sim.resolve("db/2");
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182" });
    expect(world.sim.logs.some((line) => line.unit === "db/2" && line.message.startsWith("Rollback detected"))).toBe(true);
    expect(world.sim.appStatus()).toEqual({ status: "active", message: "" });
    expect(world.sim.violations).toEqual([]);
  });

  it("a failing application-version-set fails the event before the snap is touched; once it works, the refresh goes on", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none", simulator: { retryFailedHooks: false } });
    world.failingVersionSet.add("db/2");
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(world.sim.history.filter((record) => record.unit === "db/2" && record.outcome === "failed").map((record) => record.error)).toEqual([
      expect.stringContaining("application-version-set exited with code 1"),
    ]);
    expect(world.refreshes, "no snap was refreshed in the failed event, nor anywhere else").toEqual([]);
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182" });

    world.failingVersionSet.delete("db/2");
    world.sim.resolve("db/2");
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183" });
    expect(world.sim.violations).toEqual([]);
  });

  it("a unit added while another is dying counts only the live units of goal-state", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, simulator: { retryFailedHooks: false } });
    world.sim.failNextHook("db/0");
    world.sim.removeUnit("db/0");
    await world.sim.settle();
    expect(world.sim.status().units.find((row) => row.name === "db/0")?.agent).toBe("dying");
    const [added] = await world.sim.addUnit(1);
    await world.sim.settle();
    expect(added).toBe("db/3");
    expect(world.notReady.has("db/3")).toBe(false);
    expect(world.installed("db/3")).toBe("182");
    expect(world.sim.violations).toEqual([]);
  });

  it("changing the pause from all to first mid-refresh lets the third unit go without resume-refresh", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 4, pause: "all" });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "182", "db/3": "183" });
    expect(await world.sim.runAction("db/2", "resume-refresh")).toMatchObject({ results: { result: "Refreshed unit 2" } });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183", "db/3": "183" });

    world.setPause("first");
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183", "db/2": "183", "db/3": "183" });
    const automatic = world.refreshes.filter((refresh) => refresh.unit === "db/1" || refresh.unit === "db/0");
    expect(automatic.every((refresh) => !refresh.event.startsWith("action"))).toBe(true);
    expect(world.sim.violations).toEqual([]);
  });

  it("an invalid pause value blocks the app with the config status and pauses like all", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 3, pause: "none" });
    world.setPause("sometimes");
    await world.sim.settle();
    expect(world.sim.appStatus()).toEqual({ status: "blocked", message: 'Invalid config: set pause-after-unit-refresh to "all", "first" or "none"' });
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    expect(snaps(world)).toEqual({ "db/0": "182", "db/1": "182", "db/2": "183" });
    const check = await world.sim.runAction("leader", "pre-refresh-check");
    expect(check.status).toBe("failed");
    expect(world.sim.violations).toEqual([]);
  });

  it("charm code swapped without upgrade-charm (LP 2068500): warns, waits for config-changed, then goes on", async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: 2, pause: "none", simulator: { retryFailedHooks: false, reproduceLp2068500: true } });
    world.sim.setLeader("db/0");
    await world.sim.settle();
    world.sim.failNextHook("db/1");
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(world.sim.unitStatus("db/1").status).toBe("error");

    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    const hooks = world.sim.history.filter((hook) => hook.unit === "db/1" && hook.charmRevision === 613).map((hook) => hook.hook);
    expect(hooks.slice(0, 2)).toEqual(["leader-settings-changed", "config-changed"]);
    const early = world.returned.findLast((entry) => entry.unit === "db/1" && entry.event === "leader-settings-changed");
    expect(early?.unit_).toEqual({ kind: "maintenance", message: WAITING_FOR_EVENT });
    expect(world.sim.logs.some((line) => line.unit === "db/1" && line.hook === "leader-settings-changed" && line.level === "WARNING" && line.message.includes("LP 2068500"))).toBe(true);
    expect(world.sim.logs.find((line) => line.unit === "db/1" && line.message.includes("confirmed up to date"))?.hook).toBe("config-changed");
    expect(snaps(world)).toEqual({ "db/0": "183", "db/1": "183" });
    expect(world.sim.violations).toEqual([]);
  });
});
