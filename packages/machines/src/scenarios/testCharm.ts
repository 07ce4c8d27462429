import { PeerRelationNotReady, PrecheckFailed, UnitTearingDown } from "@refresh/core";
import type { CharmHandler } from "@refresh/juju";
import { createSimulator, FakeSnapd, type Simulator } from "@refresh/testing";
import { Machines, type MachinesCharmSpecific } from "../machines.js";
import { SnapdClient } from "../snapd.js";

/** The workload snap of the test charm. */
export const SNAP = "charmed-db";

/** One charm revision of the test charm. */
export interface TestRevision {
  readonly revision: number;
  readonly charmVersion: string;
  readonly workloadVersion: string;
  readonly snapRevision: string;
}

/** What a scenario can steer, and what the invariants look at. */
export class TestWorld {
  readonly machines = new Map<string, FakeSnapd>();
  /** Units whose last event raised PeerRelationNotReady. */
  readonly notReady = new Set<string>();
  readonly unhealthy = new Set<string>();
  readonly failingPrecheck = new Set<string>();
  readonly violations: string[] = [];
  /** Every refreshSnap call: unit, event, revision before and after. */
  readonly refreshes: { unit: string; event: string; from: string | undefined; to: string }[] = [];
  /** Units a test forced with resume-refresh check-health-of-refreshed-units=false (exempt from the order check). */
  readonly overrides = new Set<string>();
  checkedRefreshes = 0;
  incompatible = false;
  pause: "all" | "first" | "none" = "first";
  sim!: Simulator;

  async machine(unit: string): Promise<FakeSnapd> {
    let fake = this.machines.get(unit);
    if (fake === undefined) {
      fake = new FakeSnapd({ pollsUntilReady: 1 });
      for (const [revision, version] of [["182", "16.4"], ["183", "16.8"], ["184", "16.9"]] as const) fake.addStoreRevision(SNAP, { revision, version });
      fake.subscribe((event) => {
        if (event.type !== "change-started") return;
        for (const [other, snapd] of this.machines) {
          if (other !== unit && snapd.allChanges().some((change) => change.status === "Doing")) {
            this.violations.push(`${unit} started a snap change while ${other} had one running`);
          }
        }
      });
      this.machines.set(unit, fake);
      await fake.listen();
    }
    return fake;
  }

  installed(unit: string): string | undefined {
    return this.machines.get(unit)?.snap(SNAP)?.revision;
  }

  async close(): Promise<void> {
    for (const fake of this.machines.values()) await fake.close();
    await this.sim.dispose();
  }
}

function files(revision: TestRevision): Record<string, string> {
  return {
    "metadata.yaml": "name: db\npeers:\n  refresh-v-three:\n    interface: refresh\n",
    "config.yaml": "options:\n  pause-after-unit-refresh:\n    type: string\n    default: first\n",
    "actions.yaml": [
      "pre-refresh-check: {}",
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
      "",
    ].join("\n"),
    "refresh_versions.toml": `charm = "${revision.charmVersion}"\nworkload = "${revision.workloadVersion}"\n\n[snap]\nname = "${SNAP}"\n\n[snap.revisions]\nx86_64 = "${revision.snapRevision}"\n`,
  };
}

function handler(world: TestWorld): CharmHandler {
  return async (run) => {
    const unit = run.context.unitName;
    const fake = await world.machine(unit);
    const snapd = new SnapdClient({ socketPath: fake.socketPath, pollIntervalMs: 1 });
    const event = run.context.event.kind === "action" ? `action ${run.context.event.name}` : run.context.event.name;
    const charm: MachinesCharmSpecific = {
      workloadName: "DB",
      charmName: "db",
      runPreRefreshChecksBeforeAnyUnitsRefreshed: async () => {
        if (world.failingPrecheck.size > 0) throw new PrecheckFailed("replication lag too high");
      },
      isCompatible: () => !world.incompatible,
      refreshSnap: async ({ snapName, snapRevision, refresh, snapd: guarded }) => {
        const from = world.installed(unit);
        world.refreshes.push({ unit, event, from, to: snapRevision });
        if (from !== undefined) fake.setServiceRunning(snapName, false);
        try {
          await guarded.refresh(snapName, snapRevision);
        } finally {
          if (world.installed(unit) !== undefined) await refresh.updateSnapRevision();
        }
      },
    };
    let refresh: Machines;
    const refreshesBefore = world.refreshes.length;
    try {
      refresh = await Machines.create(run, charm, { snapd, architecture: "x86_64" });
    } catch (error) {
      if (error instanceof PeerRelationNotReady) {
        if (world.refreshes.length > refreshesBefore) world.violations.push(`${unit} refreshed its snap in an event that raised PeerRelationNotReady`);
        world.notReady.add(unit);
        await run.tools.statusSet({ status: "maintenance", message: "Waiting for peer relation" });
        return;
      }
      if (error instanceof UnitTearingDown) return;
      throw error;
    }
    world.notReady.delete(unit);
    if (world.installed(unit) === undefined && !refresh.inProgress) {
      await snapd.refresh(SNAP, refresh.pinnedSnapRevision);
      await refresh.updateSnapRevision();
    }
    const installed = world.installed(unit);
    if (installed !== undefined && !refresh.nextUnitAllowedToRefresh && !world.unhealthy.has(unit)) {
      if (installed === refresh.pinnedSnapRevision || !refresh.inProgress) await refresh.allowNextUnitToRefresh();
    }
    if (await run.tools.isLeader()) {
      const app = refresh.appStatusHigherPriority;
      if (app === undefined) await run.tools.statusSet({ status: "active", message: "" }, { application: true });
    }
    const status = refresh.unitStatusHigherPriority ?? refresh.unitStatusLowerPriority() ?? { kind: "active", message: "" };
    await run.tools.statusSet({ status: status.kind, message: status.message });
  };
}

/** Deploys the test charm on `units` machines at the first revision and settles. */
export async function deployTestCharm(options: { revisions: readonly TestRevision[]; units: number; seed?: number; pause?: "all" | "first" | "none" }): Promise<TestWorld> {
  const world = new TestWorld();
  world.pause = options.pause ?? "first";
  world.sim = await createSimulator({
    substrate: "machines",
    seed: options.seed ?? 1,
    charms: options.revisions.map((revision) => ({ revision: revision.revision, files: files(revision), handler: handler(world) })),
  });
  world.sim.addInvariant("refresh order and pause", () => checkRefreshes(world));
  await world.sim.deploy({ revision: options.revisions[0]?.revision ?? 1, units: options.units, config: { "pause-after-unit-refresh": world.pause } });
  await world.sim.settle();
  return world;
}

/** Each new snap refresh must come after every unit before it in the order is on the target revision. */
function checkRefreshes(world: TestWorld): string | undefined {
  const problems = [...world.violations];
  const alive = new Set(world.sim.status().units.map((row) => row.name));
  for (const refresh of world.refreshes.slice(world.checkedRefreshes)) {
    if (refresh.from === undefined) continue;
    const number = Number(refresh.unit.split("/")[1]);
    for (const other of world.machines.keys()) {
      const otherNumber = Number(other.split("/")[1]);
      if (otherNumber > number && alive.has(other) && world.installed(other) !== refresh.to && !world.overrides.has(refresh.unit)) {
        problems.push(`${refresh.unit} refreshed to ${refresh.to} while ${other} (before it in the order) was on ${world.installed(other) ?? "nothing"}`);
      }
    }
  }
  world.checkedRefreshes = world.refreshes.length;
  world.violations.length = 0;
  return problems.length === 0 ? undefined : problems.join("; ");
}
