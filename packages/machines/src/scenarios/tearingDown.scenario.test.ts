import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOCAL_STATE_DIR, LocalFile, UnitTearingDown } from "@refresh/core";
import type { CharmHandler } from "@refresh/juju";
import { FakeSnapd, runEvent, type CharmRevision } from "@refresh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalState } from "../localState.js";
import { Machines } from "../machines.js";
import { SnapdClient } from "../snapd.js";

const files = {
  "metadata.yaml": "name: db\npeers:\n  refresh-v-three:\n    interface: refresh\n",
  "config.yaml": "options:\n  pause-after-unit-refresh:\n    type: string\n    default: first\n",
  "actions.yaml": [
    "pre-refresh-check: {}",
    "force-refresh-start:",
    "  params:",
    "    check-compatibility: {type: boolean, default: true}",
    "resume-refresh:",
    "  params:",
    "    check-health-of-refreshed-units: {type: boolean, default: true}",
    "",
  ].join("\n"),
  "refresh_versions.toml": 'charm = "16/1.19.0"\nworkload = "16.4"\n\n[snap]\nname = "charmed-db"\n\n[snap.revisions]\nx86_64 = "182"\n',
};

/** A charm that records what Machines.create threw; `leftover` recreates what an earlier relation-departed left behind. */
function charm(outcome: { error?: unknown; markerBefore?: boolean }, leftover: boolean): CharmRevision {
  const snapd = new SnapdClient({ socketPath: fakeSnapd.socketPath });
  const handler: CharmHandler = async (run) => {
    mkdirSync(run.context.charmDir, { recursive: true });
    // runEvent gives an empty charm directory: put the charm's files where Juju would.
    for (const [name, text] of Object.entries(files)) writeFileSync(join(run.context.charmDir, name), text);
    writeFileSync(join(run.context.charmDir, ".juju-charm"), "ch:amd64/noble/db-602\n");
    if (leftover) new LocalState(run.context.charmDir).mark(LocalFile.machinesUnitTearingDown);
    try {
      await Machines.create(run, {
        workloadName: "DB",
        charmName: "db",
        runPreRefreshChecksBeforeAnyUnitsRefreshed: async () => undefined,
        refreshSnap: async () => {
          throw new Error("a tearing-down unit must never refresh its snap");
        },
      }, { snapd, architecture: "x86_64" });
    } catch (error) {
      outcome.error = error;
      outcome.markerBefore = existsSync(join(run.context.charmDir, LOCAL_STATE_DIR, LocalFile.machinesUnitTearingDown));
    }
  };
  return { revision: 602, files, handler };
}

let fakeSnapd: FakeSnapd;
beforeAll(async () => {
  fakeSnapd = new FakeSnapd();
  await fakeSnapd.listen();
});
afterAll(async () => fakeSnapd.close());

describe("a tearing-down unit", () => {
  it("its own relation-departed marks it tearing down, raises UnitTearingDown and writes nothing", async () => {
    const outcome: { error?: unknown; markerBefore?: boolean } = {};
    const result = await runEvent({
      charm: charm(outcome, false),
      event: { hook: "refresh-v-three-relation-departed", remoteUnit: "db/0", departingUnit: "db/1" },
      state: { unit: "db/1", peers: { "db/0": {} } },
    });
    expect(outcome.error).toBeInstanceOf(UnitTearingDown);
    expect(outcome.markerBefore).toBe(true);
    expect(result.toolCalls["relation-set"] ?? 0).toBe(0);
    expect(result.logs.filter((line) => line.message.includes("being removed"))).toHaveLength(1);
  });

  it("another unit's departure does not tear this one down", async () => {
    const outcome: { error?: unknown } = {};
    await runEvent({
      charm: charm(outcome, false),
      event: { hook: "refresh-v-three-relation-departed", remoteUnit: "db/0", departingUnit: "db/0" },
      state: { unit: "db/1", peers: {} },
    });
    expect(outcome.error).toBeUndefined();
  });

  it.each(["pre-refresh-check", "force-refresh-start", "resume-refresh"])("%s fails with the tearing-down message and touches no databag", async (action) => {
    const outcome: { error?: unknown } = {};
    const result = await runEvent({ charm: charm(outcome, true), event: { action }, state: { unit: "db/1", leader: true, peers: { "db/0": {} } } });
    expect(outcome.error).toBeInstanceOf(UnitTearingDown);
    expect(result.action).toMatchObject({ status: "failed", message: expect.stringContaining("being removed") as unknown });
    expect(result.toolCalls["relation-set"] ?? 0).toBe(0);
    expect(result.toolCalls["relation-get"] ?? 0).toBe(0);
  });

  it("a goal-state dying unit is not waited for when joining", async () => {
    const outcome: { error?: unknown } = {};
    const result = await runEvent({
      charm: charm(outcome, false),
      event: { hook: "refresh-v-three-relation-changed", remoteUnit: "db/1" },
      state: { unit: "db/3", peers: { "db/1": {}, "db/2": {} }, plannedUnits: { "db/0": "dying", "db/1": "active", "db/2": "active", "db/3": "waiting" } },
    });
    expect(outcome.error).toBeUndefined();
    expect(result.logs.some((line) => line.message.includes("All 3 units have joined"))).toBe(true);
  });
});
