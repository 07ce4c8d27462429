/**
 * The world the substrates' hook-cost benches measure: a bundled minimal charm run through its
 * real `dispatch` for every event of an app in a process-mode world, with `update-status` timed
 * in steady state and while a refresh is paused after its first unit.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWorld, type World, type WorldOptions } from "../harness/world.js";
import type { CharmRevision, Substrate } from "../model/index.js";
import { writeBundledCharmDirs, type CharmBundler } from "./charm-dirs.js";
import {
  formatEventCostTable,
  median,
  runHooksTimed,
  summariseEventCost,
  timeBareNode,
  timeNodeWhileServing,
  type EventCostRow,
  type MeasuredHook,
  type ServerCounters,
} from "./hook-cost.js";

/** Options of {@link measureUpdateStatusCost}. */
export interface UpdateStatusCostOptions {
  readonly substrate: Substrate;
  /** `@refresh/charm-build` (or anything bundling the same way). */
  readonly bundler: CharmBundler;
  /** The minimal charm's entry module (a file path). */
  readonly entry: string;
  /** Prefix of the temporary directory's name, to tell benches apart in the temp dir. */
  readonly tmpPrefix: string;
  /** The revision deployed and the one the refresh goes to; both run the same code. */
  readonly revisions: readonly [deployed: number, refreshedTo: number];
  /** Files of each revision's charm directory (metadata.yaml, refresh_versions.toml, ...). */
  readonly files: (revision: number) => Readonly<Record<string, string>>;
  /** Kubernetes: the workload image each revision pins. */
  readonly image?: (revision: number) => string;
  /** Machines: the workload snap and its revisions. */
  readonly machines?: WorldOptions["machines"];
  readonly units: number;
  /** Measured rounds of update-status on every unit. */
  readonly rounds: number;
  /** Rounds first, not measured: code caches and connections warm up in them. */
  readonly warmUpRounds: number;
  /** Requests (and connections, when countable) at the substrate's fake servers so far. */
  readonly counters: (world: World) => ServerCounters;
  /** Throws, saying what it saw, unless the refresh paused with only its first unit refreshed. */
  readonly checkRefreshPaused: (world: World) => void;
  /** Heading of the requests column of the printed table ("API requests", "snapd requests"). */
  readonly requestsLabel: string;
  /**
   * What no charm can go below: an entry module that makes only the event's requests to the
   * substrate's fake server (in a unit's environment) and exits, bundled like the charm and
   * timed like the bare Node start, interleaved with the hooks.
   */
  readonly floor?: { readonly entry: string; readonly label: string };
}

/** The floor, measured: median time and median ratio to the bare Node start before each run. */
export interface FloorCost {
  readonly label: string;
  readonly medianMs: number;
  readonly medianBareMs: number;
  readonly ratio: number;
}

/** The measured rows, and the world's clean-up. */
export interface UpdateStatusCost {
  /** Steady state and refresh paused, each for the leader and for the other units. */
  readonly rows: readonly EventCostRow[];
  /** The floor, when one was given. */
  readonly floor: FloorCost | undefined;
  /** Disposes of the world and removes the temporary directory. */
  dispose(): Promise<void>;
}

/**
 * Builds the world (hooks one at a time, no scheduling at requests, compiled hook-tool client),
 * measures `update-status` in steady state, refreshes to the second revision, measures it again
 * while the refresh is paused, and prints the table. On failure, cleans up before rethrowing.
 */
export async function measureUpdateStatusCost(options: UpdateStatusCostOptions): Promise<UpdateStatusCost> {
  const root = await mkdtemp(join(tmpdir(), options.tmpPrefix));
  let world: World | undefined;
  const dispose = async (): Promise<void> => {
    await world?.dispose();
    await rm(root, { recursive: true, force: true });
  };
  try {
    const [deployed, refreshedTo] = options.revisions;
    const dirs = await writeBundledCharmDirs({ bundler: options.bundler, entry: options.entry, root, revisions: [deployed, refreshedTo], files: options.files });
    const revisions: CharmRevision[] = [...dirs].map(([revision, dir]) => ({ revision, dir, ...(options.image === undefined ? {} : { image: options.image(revision) }) }));
    const measuredWorld = await createWorld({
      substrate: options.substrate,
      mode: "process",
      charm: { revisions },
      units: options.units,
      seed: 1,
      config: { "pause-after-unit-refresh": "first" },
      ...(options.machines === undefined ? {} : { machines: options.machines }),
      // Hooks one at a time and no scheduling at requests: each hook runs straight through.
      simulator: { appName: "db", concurrency: "serial" },
      yieldAtRequests: false,
      hookToolClient: "compiled",
    });
    world = measuredWorld;
    await measuredWorld.sim.settle();

    const measure = (label: string): Promise<{ leader: MeasuredHook[]; others: MeasuredHook[] }> =>
      measureUpdateStatusRounds(measuredWorld, label, options);
    const rows: EventCostRow[] = [];
    const floor =
      options.floor === undefined ? undefined : await measureFloor(measuredWorld, options.floor, options.bundler, root, options.warmUpRounds + options.rounds);
    const steady = await measure("steady state");
    rows.push(summariseEventCost("update-status, steady, leader", steady.leader), summariseEventCost("update-status, steady, non-leader", steady.others));

    measuredWorld.sim.refresh({ to: refreshedTo });
    await measuredWorld.sim.settle();
    options.checkRefreshPaused(measuredWorld);
    const paused = await measure("refresh paused");
    rows.push(summariseEventCost("update-status, refresh paused, leader", paused.leader), summariseEventCost("update-status, refresh paused, non-leader", paused.others));
    const floorLine =
      floor === undefined
        ? ""
        : `\nFloor (${floor.label}): ${floor.medianMs.toFixed(1)} ms against ${floor.medianBareMs.toFixed(1)} ms for node -e 0, ${floor.ratio.toFixed(2)}x\n`;
    console.log(
      `\n${formatEventCostTable(rows, options.requestsLabel)}\n(ratio: median over ${options.rounds} rounds of hook process / the bare node run just before it; counts: max per hook)\n${floorLine}`,
    );
    return { rows, floor, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * Writes the floor's entry as a charm's code and times starting it as `dispatch` would, `runs`
 * times, each right after a bare Node start, in the leader's environment.
 */
async function measureFloor(world: World, floor: NonNullable<UpdateStatusCostOptions["floor"]>, bundler: CharmBundler, root: string, runs: number): Promise<FloorCost> {
  const floorDir = join(root, "floor");
  await bundler.writeCharmCode(floor.entry, floorDir);
  const script = join(floorDir, bundler.START_SCRIPT_PATH);
  const leader = world.sim.leader;
  if (leader === undefined) throw new Error("the settled world has no leader to measure the floor as");
  const environment = world.unitEnvironment(leader);
  const times: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  for (let run = 0; run < runs; run++) {
    const bareMs = timeBareNode();
    const floorMs = await timeNodeWhileServing([script], environment);
    bare.push(bareMs);
    times.push(floorMs);
    ratios.push(floorMs / bareMs);
  }
  return { label: floor.label, medianMs: median(times), medianBareMs: median(bare), ratio: median(ratios) };
}

/** Fires update-status for every round (after warm-ups) and splits the runs into leader and others. */
async function measureUpdateStatusRounds(
  world: World,
  label: string,
  options: Pick<UpdateStatusCostOptions, "rounds" | "warmUpRounds" | "counters">,
): Promise<{ leader: MeasuredHook[]; others: MeasuredHook[] }> {
  const leader: MeasuredHook[] = [];
  const others: MeasuredHook[] = [];
  for (let round = 0; round < options.warmUpRounds + options.rounds; round++) {
    world.sim.fireUpdateStatus();
    const hooks = await runHooksTimed(world.sim, () => options.counters(world));
    for (const hook of hooks) {
      if (hook.record.outcome !== "succeeded") throw new Error(`${label}: ${hook.record.unit} ${hook.record.hook} failed: ${hook.record.error ?? ""}\n${hook.record.stderr ?? ""}`);
      if (hook.record.hook !== "update-status") throw new Error(`${label}: an unexpected ${hook.record.hook} ran on ${hook.record.unit}; the model was not settled`);
    }
    if (round < options.warmUpRounds) continue;
    for (const hook of hooks) (hook.record.unit === world.sim.leader ? leader : others).push(hook);
  }
  return { leader, others };
}
