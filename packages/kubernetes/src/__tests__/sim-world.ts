/**
 * Scenario worlds for the Kubernetes substrate on top of `@refresh/testing`'s `createWorld`:
 * the test charm of `sim-charm.ts` in several revisions, in-process or bundled behind a real
 * `dispatch`, with {@link KubernetesInvariants} checked after every hook.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOCAL_STATE_DIR, LocalFile } from "@refresh/core";
import { createWorld, writeBundledCharmDirs, type ActionOutcome, type CharmRevision, type RunMode, type Simulator, type World } from "@refresh/testing";
import { loadCharmBuild } from "../bench-support/charm-build.js";
import { KubernetesInvariants, type KubernetesModelView } from "../invariants.js";
import { IMAGE, testCharmMetadata } from "./charm-metadata.js";
import { PRECHECK_CALLS_FILE, PRECHECK_FAILURE_FILE, WORKLOAD_RUNNING_FILE, simCharm } from "./sim-charm.js";

/** The workload image the test charm pins (re-exported for tests that pass it to `juju refresh`). */
export { IMAGE };

/** The image digest revision `revision` pins. */
export const DIGEST = (revision: number): string => `sha256:${revision.toString(16).padStart(64, "0")}`;

/** The charm revisions every world offers: charm version and pinned workload version. */
export const REVISIONS: Readonly<Record<number, { charm: string; workload: string }>> = {
  10: { charm: "14/1.0.0", workload: "14.9" },
  11: { charm: "14/1.1.0", workload: "14.10" },
  /** A third, compatible version (for a refresh to it mid-refresh). */
  12: { charm: "14/1.2.0", workload: "14.11" },
  /** A new major version: incompatible under the default rule. */
  13: { charm: "14/2.0.0", workload: "15.1" },
};

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

function charmFiles(revision: number): Record<string, string> {
  const versions = REVISIONS[revision];
  if (versions === undefined) throw new Error(`no test charm revision ${revision}`);
  return {
    "metadata.yaml": testCharmMetadata(DIGEST(revision)),
    "config.yaml": "options:\n  pause-after-unit-refresh:\n    type: string\n    default: first\n",
    "actions.yaml": ACTIONS_YAML,
    "refresh_versions.toml": `charm = "${versions.charm}"\nworkload = "${versions.workload}"\n`,
  };
}

let bundled: Promise<{ root: string; dirs: ReadonlyMap<number, string> }> | undefined;

/**
 * Bundles the test charm once per test file (as `charm-build` bundles a real charm) and
 * writes one charm directory per revision; the metadata comes with each revision's `files`.
 */
async function processCharmDirs(): Promise<ReadonlyMap<number, string>> {
  bundled ??= (async () => {
    const root = await mkdtemp(join(tmpdir(), "k8s-sim-charm-"));
    const dirs = await writeBundledCharmDirs({
      bundler: await loadCharmBuild(),
      entry: fileURLToPath(new URL("./sim-charm-entry.ts", import.meta.url)),
      root,
      revisions: Object.keys(REVISIONS).map(Number),
    });
    return { root, dirs };
  })();
  return (await bundled).dirs;
}

/** Removes the bundled charm directories (call in `afterAll` of a file that used process mode). */
export async function removeProcessCharms(): Promise<void> {
  if (bundled === undefined) return;
  const { root } = await bundled;
  bundled = undefined;
  await rm(root, { recursive: true, force: true });
}

function processCharmDir(dirs: ReadonlyMap<number, string>, revision: number): string {
  const dir = dirs.get(revision);
  if (dir === undefined) throw new Error(`no bundled charm directory for revision ${revision}`);
  return dir;
}

async function charmRevisions(mode: RunMode): Promise<CharmRevision[]> {
  const dirs = mode === "process" ? await processCharmDirs() : undefined;
  return Object.keys(REVISIONS)
    .map(Number)
    .map((revision) => ({
      revision,
      image: `${IMAGE}@${DIGEST(revision)}`,
      files: charmFiles(revision),
      handler: simCharm,
      ...(dirs === undefined ? {} : { dir: processCharmDir(dirs, revision) }),
    }));
}

/** Options of {@link openWorld}. */
export interface SimWorldOptions {
  readonly mode?: RunMode;
  readonly seed?: number;
  readonly units?: number;
  readonly pause?: string;
  readonly trusted?: boolean;
}

/** A world, its invariants and the user's commands that the invariants must hear about. */
export interface SimWorld {
  readonly world: World;
  readonly sim: Simulator;
  readonly invariants: KubernetesInvariants;
  /** `juju run`, told to the invariants first. */
  runAction(unit: string, name: string, params?: Record<string, unknown>): Promise<ActionOutcome>;
  /** Kubernetes evicts the unit's pod, told to the invariants first. */
  evict(unit: string): void;
  /** Makes the pre-refresh check fail with `message` (undefined: pass again). */
  setPrecheckFailure(message: string | undefined): Promise<void>;
  /** How many times the pre-refresh check ran. */
  precheckCalls(): number;
  /** Whether the unit's workload runs now. */
  workloadRunning(unit: string): boolean;
  /** Charm revision of every unit, in unit order. */
  revisions(): number[];
  dispose(): Promise<void>;
}

/**
 * Opens a Kubernetes world running the test charm (deployed at revision 10, settled) with
 * {@link KubernetesInvariants} registered as a simulator invariant.
 */
export async function openWorld(options: SimWorldOptions = {}): Promise<SimWorld> {
  const mode = options.mode ?? "in-process";
  const world = await createWorld({
    substrate: "kubernetes",
    mode,
    charm: { revisions: await charmRevisions(mode) },
    units: options.units ?? 3,
    seed: options.seed ?? 1,
    config: { "pause-after-unit-refresh": options.pause ?? "first" },
    kubernetes: { workloadContainer: "database", trusted: options.trusted ?? true },
    simulator: { appName: "db" },
  });
  const sim = world.sim;
  const workloadRunning = (unit: string): boolean => {
    try {
      return existsSync(join(sim.charmDir(unit), WORKLOAD_RUNNING_FILE));
    } catch {
      return false; // a removed unit
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
    workloadRunning,
    podVersions: (unit) => {
      const pod = sim.pod(unit);
      const versions = pod === undefined ? undefined : REVISIONS[pod.charmRevision];
      if (pod === undefined || versions === undefined || sim.statefulSet === undefined) return undefined;
      const image = sim.statefulSet.templateOf(pod.revision).image;
      return { charmVersion: versions.charm, imageDigest: image.slice(image.indexOf("@") + 1) };
    },
    refreshStartedMarker: (unit) => existsSync(join(sim.charmDir(unit), LOCAL_STATE_DIR, LocalFile.kubernetesRefreshStarted)),
    workloadHealthy: (unit) => world.workloadHealthy(unit),
    appTrusted: () => world.kubernetes?.driver?.statefulSet.trusted ?? true,
  };
  const invariants = new KubernetesInvariants({ view });
  sim.addInvariant("Kubernetes refresh invariants", () => invariants.check());
  await sim.settle();
  return {
    world,
    sim,
    invariants,
    runAction: async (unit, name, params = {}) => {
      invariants.eventStarted(unit === "leader" ? (sim.leader ?? unit) : unit, { kind: "action", name, params });
      return sim.runAction(unit, name, params);
    },
    evict: (unit) => {
      invariants.podEvicted(unit);
      sim.evict(unit);
    },
    setPrecheckFailure: async (message) => {
      const path = join(world.workloadDir, PRECHECK_FAILURE_FILE);
      if (message === undefined) await rm(path, { force: true });
      else await writeFile(path, message);
    },
    precheckCalls: () => {
      try {
        return readFileSync(join(world.workloadDir, PRECHECK_CALLS_FILE), "utf8").split("\n").filter((line) => line !== "").length;
      } catch {
        return 0;
      }
    },
    workloadRunning,
    revisions: () => sim.units.map((unit) => sim.charmRevision(unit)),
    dispose: () => world.dispose(),
  };
}
