import { PeerRelationNotReady, PrecheckFailed, UnitTearingDown, type Status } from "@refresh/core";
import { HookToolFailed, type CharmHandler, type HookTools } from "@refresh/juju";
import { createSimulator, FakeSnapd, type Simulator, type SimulatorOptions } from "@refresh/testing";
import { defaultRefreshOrder } from "../decisions.js";
import { MachinesInvariants } from "../invariants.js";
import { Machines, type MachinesCharmSpecific } from "../machines.js";
import { SnapdClient } from "../snapd.js";

/** The workload snap of the test charm. */
export const SNAP = "charmed-db";

/** The two charm revisions most scenarios refresh between (602 pins snap 182, 613 pins 183). */
export const V1: TestRevision = { revision: 602, charmVersion: "16/1.19.0", workloadVersion: "16.4", snapRevision: "182" };
/** See {@link V1}. */
export const V2: TestRevision = { revision: 613, charmVersion: "16/1.20.0", workloadVersion: "16.8", snapRevision: "183" };

/** Installed snap revision per unit, sorted by unit name. */
export function snaps(world: TestWorld): Record<string, string | undefined> {
  return Object.fromEntries([...world.machines.keys()].filter((unit) => world.sim.units.includes(unit)).sort().map((unit) => [unit, world.installed(unit)]));
}

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
  /** Every refreshSnap call: unit, event, revision before and after. */
  readonly refreshes: { unit: string; event: string; from: string | undefined; to: string }[] = [];
  /** Every value each Machines object returned at the end of an event, for status checks. */
  readonly returned: { unit: string; event: string; leader: boolean; app: Status | undefined; unit_: Status }[] = [];
  /** How many entries of {@link returned} the status invariant has looked at. */
  checkedReturned = 0;
  incompatible = false;
  pause = "first";
  /** The charm's refresh order (the refresh-order extension); undefined for the default. */
  refreshOrder: ((units: readonly string[]) => readonly string[]) | undefined;
  /** Units whose charm crashes right after its snap refresh (before updateSnapRevision): the "unknown" state. */
  readonly crashAfterSnapRefresh = new Set<string>();
  /** Units whose `application-version-set` fails (the unit agent refuses it) while they are listed. */
  readonly failingVersionSet = new Set<string>();
  sim!: Simulator;
  readonly invariants: MachinesInvariants;

  constructor() {
    this.invariants = new MachinesInvariants({
      snapName: SNAP,
      view: {
        units: () => this.sim.units,
        unitData: (unit) => this.sim.unitData(unit),
        appData: () => this.sim.appData(),
        pauseOf: () => this.pause,
      },
      refreshOrder: (units) => this.refreshOrder?.(units) ?? defaultRefreshOrder(units),
    });
  }

  /** `juju config <app> pause-after-unit-refresh=<value>`. */
  setPause(value: string): void {
    this.pause = value;
    this.sim.config({ "pause-after-unit-refresh": value });
  }

  async machine(unit: string): Promise<FakeSnapd> {
    let fake = this.machines.get(unit);
    if (fake === undefined) {
      fake = new FakeSnapd({ pollsUntilReady: 1 });
      for (const [revision, version] of [["182", "16.4"], ["183", "16.8"], ["184", "16.9"]] as const) fake.addStoreRevision(SNAP, { revision, version });
      this.invariants.attachSnapd(unit, fake);
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

function files(revision: TestRevision, extraForceParams: readonly string[]): Record<string, string> {
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
      ...extraForceParams.map((name) => `    ${name}: {type: boolean, default: true}`),
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
    const contextEvent = run.context.event;
    const event = contextEvent.kind === "action" ? `action ${contextEvent.name}` : contextEvent.name;
    world.invariants.eventStarted(unit, {
      kind: contextEvent.kind,
      name: contextEvent.name,
      ...(contextEvent.kind === "action" ? { params: await run.tools.actionGet() } : {}),
    });
    const charm: MachinesCharmSpecific = {
      workloadName: "DB",
      charmName: "db",
      runPreRefreshChecksBeforeAnyUnitsRefreshed: async () => {
        if (world.failingPrecheck.size > 0) throw new PrecheckFailed("replication lag too high");
      },
      isCompatible: () => !world.incompatible,
      ...(world.refreshOrder === undefined ? {} : { refreshOrder: world.refreshOrder }),
      refreshSnap: async ({ snapName, snapRevision, refresh, snapd: guarded }) => {
        const from = world.installed(unit);
        world.refreshes.push({ unit, event, from, to: snapRevision });
        if (from !== undefined) fake.setServiceRunning(snapName, false);
        let failure: unknown;
        try {
          await guarded.refresh(snapName, snapRevision);
        } catch (error) {
          failure = error;
        }
        if (world.crashAfterSnapRefresh.delete(unit)) {
          // The machine lost power right after snapd switched revision: nothing after it ran.
          throw new Error("simulated crash right after the snap refresh");
        }
        if (world.installed(unit) !== undefined) await refresh.updateSnapRevision();
        if (failure !== undefined) throw failure;
      },
    };
    let refresh: Machines;
    try {
      const tools = world.failingVersionSet.has(unit) ? refusingVersionSet(run.tools) : run.tools;
      refresh = await Machines.create({ ...run, tools }, charm, { snapd, architecture: "x86_64" });
    } catch (error) {
      if (error instanceof PeerRelationNotReady) {
        world.invariants.createEnded(unit, "peer-relation-not-ready");
        world.notReady.add(unit);
        await run.tools.statusSet({ status: "maintenance", message: "Waiting for peer relation" });
        return;
      }
      if (error instanceof UnitTearingDown) {
        world.invariants.createEnded(unit, "tearing-down");
        return;
      }
      throw error;
    }
    world.invariants.createEnded(unit, "ready");
    world.notReady.delete(unit);
    if (world.installed(unit) === undefined && !refresh.inProgress) {
      await snapd.refresh(SNAP, refresh.pinnedSnapRevision);
      await refresh.updateSnapRevision();
    }
    const installed = world.installed(unit);
    if (installed !== undefined && !refresh.nextUnitAllowedToRefresh && !world.unhealthy.has(unit)) {
      if (installed === refresh.pinnedSnapRevision || !refresh.inProgress) await refresh.allowNextUnitToRefresh();
    }
    const leader = await run.tools.isLeader();
    if (leader) {
      const app = refresh.appStatusHigherPriority;
      if (app === undefined) await run.tools.statusSet({ status: "active", message: "" }, { application: true });
    }
    // A status the library returns with higher priority was already set by the library: the
    // charm leaves it alone, so what juju status shows is the library's own status-set.
    const status = refresh.unitStatusHigherPriority ?? refresh.unitStatusLowerPriority() ?? { kind: "active", message: "" };
    if (refresh.unitStatusHigherPriority === undefined) await run.tools.statusSet({ status: status.kind, message: status.message });
    world.returned.push({ unit, event, leader, app: refresh.appStatusHigherPriority, unit_: status });
  };
}

/** `tools`, except that `application-version-set` fails the way a hook tool does when the agent refuses it. */
function refusingVersionSet(tools: HookTools): HookTools {
  return new Proxy(tools, {
    get(target, property) {
      if (property === "applicationVersionSet") return () => Promise.reject(new HookToolFailed("application-version-set", 1, "connection to the unit agent lost"));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Deploys the test charm on `units` machines at the first revision and settles. */
export async function deployTestCharm(options: {
  revisions: readonly TestRevision[];
  units: number;
  seed?: number;
  pause?: "all" | "first" | "none";
  refreshOrder?: (units: readonly string[]) => readonly string[];
  /**
   * Boolean parameters the charm's actions.yaml declares for force-refresh-start beyond the
   * library's, as when a charm's action definitions drift: Juju then lets them through.
   */
  extraForceRefreshStartParams?: readonly string[];
  /** Extra simulator options (retries, the LP 2068500 switch, concurrency). */
  simulator?: Pick<SimulatorOptions, "retryFailedHooks" | "reproduceLp2068500" | "concurrency">;
}): Promise<TestWorld> {
  const world = new TestWorld();
  world.pause = options.pause ?? "first";
  world.refreshOrder = options.refreshOrder;
  world.sim = await createSimulator({
    substrate: "machines",
    seed: options.seed ?? 1,
    ...options.simulator,
    charms: options.revisions.map((revision) => ({ revision: revision.revision, files: files(revision, options.extraForceRefreshStartParams ?? []), handler: handler(world) })),
  });
  world.sim.addInvariant("machines refresh invariants", () => world.invariants.check());
  world.sim.addInvariant("statuses shown = statuses returned", () => statusesAgree(world));
  await world.sim.deploy({ revision: options.revisions[0]?.revision ?? 1, units: options.units, config: { "pause-after-unit-refresh": world.pause } });
  await world.sim.settle();
  return world;
}

/**
 * After each hook, what `juju status` shows for the unit that ran it (and the app, if it is
 * the leader) is what its Machines object returned: the library's immediate status-set and
 * the returned higher-priority status can never disagree.
 */
function statusesAgree(world: TestWorld): string | undefined {
  const latest = world.sim.history.at(-1);
  const returned = world.returned.at(-1);
  if (latest === undefined || returned === undefined || latest.unit !== returned.unit || latest.outcome !== "succeeded") return undefined;
  if (world.checkedReturned === world.returned.length) return undefined;
  world.checkedReturned = world.returned.length;
  const problems: string[] = [];
  const shownUnit = world.sim.unitStatus(returned.unit);
  if (shownUnit.status !== returned.unit_.kind || shownUnit.message !== returned.unit_.message) {
    problems.push(`${returned.unit} shows ${shownUnit.status} "${shownUnit.message}" but the library returned ${returned.unit_.kind} "${returned.unit_.message}"`);
  }
  if (returned.leader) {
    const shownApp = world.sim.appStatus();
    const expected = returned.app ?? { kind: "active", message: "" };
    if (shownApp.status !== expected.kind || shownApp.message !== expected.message) {
      problems.push(`the app shows ${shownApp.status} "${shownApp.message}" but the library returned ${expected.kind} "${expected.message}"`);
    }
  }
  return problems.length === 0 ? undefined : problems.join("; ");
}
