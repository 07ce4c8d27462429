/**
 * What refresh-sim checks after every hook of a run. The refresh's safety rules come from the
 * substrate packages ({@link KubernetesInvariants}, {@link MachinesInvariants}), so a
 * rehearsal asserts exactly what the library's own scenario tests assert; this module only
 * adapts the simulated world to their views and adds the few checks that need to know the
 * charm app (its workload, its revisions), which a substrate cannot know.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LocalFile, localStatePath, type LocalFileName } from "@refresh/core";
import { KubernetesInvariants, type KubernetesModelView } from "@refresh/kubernetes";
import { MachinesInvariants, type CreateOutcome, type WatchableSnapd } from "@refresh/machines";
import type { World } from "@refresh/testing";
import type { BuiltRevision } from "./charm-app.js";

/** One broken invariant, found after a hook. */
export interface InvariantProblem {
  readonly invariant: string;
  readonly explanation: string;
}

/** The charm app's workload as refresh-sim observes it (the Sample DB state files). */
export interface WorkloadObserver {
  /** The workload version `unit`'s member runs, or undefined when it is stopped. */
  runningVersion(unit: string): string | undefined;
}

/** What the checks must hear about the user's commands, told before each one runs. */
export interface RunInvariants {
  /** `juju run <unit> <name>`: before it runs, and once it ended. */
  actionStarting(unit: string, name: string, params: Readonly<Record<string, unknown>>): void;
  actionFinished(unit: string, outcome: "completed" | "failed"): void;
  /** The scenario takes the unit's workload down on purpose (eviction, failing hook). */
  disrupting(unit: string, how: "evict" | "fail-next-hook"): void;
  /** `juju config`: the values the units will see from now on. */
  configChanged(changes: Readonly<Record<string, string | number | boolean>>): void;
  /** Units may have been created (deployment, add-unit). */
  unitsCreated(): void;
  /** Every check, after a hook; a problem is reported each time it is found. */
  check(): InvariantProblem[];
}

/** Options of {@link createRunInvariants}. */
export interface RunInvariantsOptions {
  readonly world: World;
  /** Every revision the run may deploy or refresh to; the first is deployed. */
  readonly revisions: readonly BuiltRevision[];
  readonly workload: WorkloadObserver;
  /** Config given at deployment. */
  readonly config: Readonly<Record<string, string | number | boolean>>;
  /** The machines charm's workload snap (`[snap] name` in refresh_versions.toml). */
  readonly snapName?: string;
}

const PAUSE_OPTION = "pause-after-unit-refresh";

/**
 * The substrate's refresh invariants plus refresh-sim's own app-level checks:
 *
 * - "one member down at a time" (both substrates): at most one unit's workload is stopped,
 *   apart from units the scenario itself took down. The substrate rules are about the
 *   library's decisions (partition moves, snap changes); this one is about the charm's
 *   handling of its workload, which is what a database's users notice, and it catches a
 *   charm that stops its workload on the wrong unit even when the library did everything
 *   right.
 * - "no refused workload starts" (machines only): no unit runs a workload version that the
 *   charm's compatibility rule refuses, unless the user forced the refresh. The machines
 *   rules check each unit against the ones before it in the refresh order, which leaves the
 *   first unit unchecked; the Kubernetes rules already cover it (a workload may only run on a
 *   revision the refresh started for), so this check would repeat them there.
 */
export function createRunInvariants(options: RunInvariantsOptions): RunInvariants {
  const substrate = options.world.substrate === "kubernetes" ? kubernetesChecks(options) : machinesChecks(options);
  const downtime = memberDowntimeCheck(options);
  const refused = options.world.substrate === "machines" ? refusedWorkloadCheck(options) : undefined;
  return {
    actionStarting: (unit, name, params) => {
      substrate.actionStarting(unit, name, params);
      refused?.actionStarting(name);
    },
    actionFinished: (unit, outcome) => {
      substrate.actionFinished(unit);
      refused?.actionFinished(outcome);
    },
    disrupting: (unit, how) => {
      downtime.disrupting(unit);
      if (how === "evict") substrate.evicting(unit);
    },
    configChanged: (changes) => substrate.configChanged(changes),
    unitsCreated: () => substrate.unitsCreated(),
    check: () => {
      const problems: InvariantProblem[] = [];
      // The substrate joins what it found with "; ": one problem each, so a rule that keeps
      // failing is reported once even while others come and go.
      const found = substrate.check();
      for (const explanation of found?.split("; ") ?? []) problems.push({ invariant: substrate.name, explanation });
      problems.push(...downtime.check());
      if (refused !== undefined) problems.push(...refused.check());
      return problems;
    },
  };
}

interface SubstrateChecks {
  readonly name: string;
  actionStarting(unit: string, name: string, params: Readonly<Record<string, unknown>>): void;
  actionFinished(unit: string): void;
  evicting(unit: string): void;
  configChanged(changes: Readonly<Record<string, string | number | boolean>>): void;
  unitsCreated(): void;
  check(): string | undefined;
}

function kubernetesChecks({ world, revisions, workload }: RunInvariantsOptions): SubstrateChecks {
  const sim = world.sim;
  const charmDirOf = (unit: string): string | undefined => {
    try {
      return sim.charmDir(unit);
    } catch {
      return undefined; // removed since
    }
  };
  const view: KubernetesModelView = {
    units: () => sim.units,
    unitData: (unit) => sim.unitData(unit),
    appData: () => sim.appData(),
    statefulSet: () => {
      const statefulSet = sim.statefulSet;
      if (statefulSet === undefined) return undefined;
      return { updateRevision: statefulSet.updateRevision, partition: statefulSet.partition, pods: statefulSet.pods() };
    },
    workloadRunning: (unit) => workload.runningVersion(unit) !== undefined,
    podVersions: (unit) => {
      const pod = sim.pod(unit);
      const statefulSet = sim.statefulSet;
      if (pod === undefined || statefulSet === undefined) return undefined;
      const revision = revisions.find((entry) => entry.revision === pod.charmRevision);
      if (revision === undefined) return undefined;
      // The template's image, not the revision's: `refresh: { resource }` may have swapped it.
      const image = statefulSet.templateOf(pod.revision).image;
      const at = image.indexOf("@");
      return { charmVersion: revision["charm-version"], imageDigest: at < 0 ? undefined : image.slice(at + 1) };
    },
    refreshStartedMarker: (unit) => {
      const dir = charmDirOf(unit);
      return dir !== undefined && existsSync(join(dir, localStatePath(LocalFile.kubernetesRefreshStarted)));
    },
    workloadHealthy: (unit) => world.workloadHealthy(unit),
  };
  const invariants = new KubernetesInvariants({ view });
  return {
    name: "Kubernetes refresh invariants",
    actionStarting: (unit, name, params) => invariants.eventStarted(unit, { kind: "action", name, params }),
    actionFinished: () => undefined,
    evicting: (unit) => invariants.podEvicted(unit),
    configChanged: () => undefined,
    unitsCreated: () => undefined,
    check: () => invariants.check(),
  };
}

function machinesChecks({ world, config, snapName }: RunInvariantsOptions): SubstrateChecks {
  const sim = world.sim;
  const machines = world.machines;
  if (machines === undefined || snapName === undefined) throw new Error("a machines world and its snap name are needed for the machines invariants");
  let pause: unknown = config[PAUSE_OPTION];
  const invariants = new MachinesInvariants({
    snapName,
    view: {
      units: () => sim.units,
      unitData: (unit) => sim.unitData(unit),
      appData: () => sim.appData(),
      // Units on an older charm revision may still see the previous value (LP #2084886); the
      // scenarios change the pause setting between refreshes, where every unit sees the same.
      pauseOf: () => pause ?? "first",
    },
  });
  const attached = new Set<string>();
  const attachNewMachines = (): void => {
    for (const unit of machines.machines) {
      if (attached.has(unit)) continue;
      attached.add(unit);
      const snapd: WatchableSnapd = machines.snapd(unit);
      // The charm runs in its own process, so how `Machines.create` ended is read from the
      // markers the library leaves in the charm directory, just before the snap change is
      // judged (this listener is subscribed before the invariants' own).
      snapd.subscribe((event) => {
        if (event.change.snap === snapName && event.type === "change-started") invariants.createEnded(unit, createOutcome(sim, unit));
      });
      invariants.attachSnapd(unit, snapd);
    }
  };
  attachNewMachines();
  return {
    name: "machines refresh invariants",
    actionStarting: (unit, name, params) => invariants.eventStarted(unit, { kind: "action", name, params }),
    // The unit's later events are hooks again: an action's exemptions must not carry over.
    actionFinished: (unit) => invariants.eventStarted(unit, { kind: "hook", name: "hook" }),
    evicting: () => undefined,
    configChanged: (changes) => {
      if (PAUSE_OPTION in changes) pause = changes[PAUSE_OPTION];
    },
    unitsCreated: attachNewMachines,
    check: () => {
      attachNewMachines();
      return invariants.check();
    },
  };
}

function createOutcome(sim: World["sim"], unit: string): CreateOutcome {
  let charmDir: string;
  try {
    charmDir = sim.charmDir(unit);
  } catch {
    return "tearing-down"; // the unit is gone
  }
  const marked = (file: LocalFileName): boolean => existsSync(join(charmDir, localStatePath(file)));
  if (marked(LocalFile.machinesUnitTearingDown)) return "tearing-down";
  return marked(LocalFile.machinesPeerRelationInitialized) ? "ready" : "peer-relation-not-ready";
}

function memberDowntimeCheck({ world, workload }: RunInvariantsOptions): { disrupting(unit: string): void; check(): InvariantProblem[] } {
  /** Units whose workload has run at least once: a unit still installing is not "down". */
  const everRunning = new Set<string>();
  /** Units the scenario took down, until their workload runs again. */
  const disrupted = new Set<string>();
  return {
    disrupting: (unit) => disrupted.add(unit),
    check: () => {
      const down: string[] = [];
      for (const row of world.sim.status().units) {
        if (row.agent === "dying") continue;
        if (workload.runningVersion(row.name) !== undefined) {
          everRunning.add(row.name);
          disrupted.delete(row.name);
        } else if (everRunning.has(row.name) && !disrupted.has(row.name)) {
          down.push(row.name);
        }
      }
      if (down.length <= 1) return [];
      return [{ invariant: "one member down at a time", explanation: `the workloads of ${down.join(", ")} are stopped at the same time` }];
    },
  };
}

function refusedWorkloadCheck({ world, revisions, workload }: RunInvariantsOptions): {
  actionStarting(name: string): void;
  actionFinished(outcome: "completed" | "failed"): void;
  check(): InvariantProblem[];
} {
  const original = revisions[0];
  let forced = false;
  let forcing = false;
  return {
    // The forced refresh starts inside the action, so consent counts from when it is given.
    actionStarting: (name) => {
      forcing = name === "force-refresh-start" && !forced;
      if (forcing) forced = true;
    },
    actionFinished: (outcome) => {
      if (forcing && outcome !== "completed") forced = false;
      forcing = false;
    },
    check: () => {
      if (original === undefined || forced) return [];
      const problems: InvariantProblem[] = [];
      for (const unit of world.sim.units) {
        const version = workload.runningVersion(unit);
        if (version === undefined || version === original["workload-version"]) continue;
        const source = revisions.find((entry) => entry["workload-version"] === version);
        if (source !== undefined && !compatibleWith(original, source)) {
          problems.push({
            invariant: "no refused workload starts",
            explanation: `${unit} runs workload ${version} of ${source.name}, which is incompatible with ${original.name}, without force-refresh-start`,
          });
        }
      }
      return problems;
    },
  };
}

/** The sample charms' rule seen from outside: same track and charm major, same workload major. */
function compatibleWith(original: BuiltRevision, target: BuiltRevision): boolean {
  const [oldTrack, oldRelease] = original["charm-version"].split("/");
  const [newTrack, newRelease] = target["charm-version"].split("/");
  const major = (text: string | undefined): string | undefined => text?.split(".")[0];
  return oldTrack === newTrack && major(oldRelease) === major(newRelease) && major(original["workload-version"]) === major(target["workload-version"]);
}

/** Reads a unit's running-version file; undefined when its member is stopped. */
export function readRunningVersion(workloadDir: string, unit: string): string | undefined {
  try {
    const text = readFileSync(join(workloadDir, `${unit.replace("/", "-")}.running`), "utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}
