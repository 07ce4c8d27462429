/**
 * Measuring what a bundled charm costs before it can do anything, for the substrates'
 * bundle-cost benches: every Juju event starts the charm afresh, so its size and the time
 * how long Node takes to load it are paid on every event.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CharmBundler } from "./charm-dirs.js";
import { median, timeNode } from "./hook-cost.js";

/** How long loading the bundle took against a bare Node start, as medians of interleaved runs. */
export interface LoadCost {
  /** Measured runs (warm-ups not counted). */
  readonly runs: number;
  readonly medianBareMs: number;
  readonly medianCharmMs: number;
  /** Median charm load / median bare start. */
  readonly ratio: number;
}

/** Options of {@link measureLoadCost}. */
export interface LoadCostOptions {
  /** Runs that count. */
  readonly runs: number;
  /** Runs first, not counted: the code cache is written by them. */
  readonly warmUpRuns: number;
}

/** A charm bundled into a temporary directory, to be weighed and timed. */
export interface BundledCharmForBench {
  /** The single-file bundle, where a charm directory has it. */
  readonly bundlePath: string;
  /** Size of the bundle in bytes. */
  sizeBytes(): Promise<number>;
  /**
   * Times starting the charm as `dispatch` does (its start script, with the caches on),
   * interleaved with a bare `node -e 0`, so that load on the machine affects both alike.
   */
  measureLoadCost(options: LoadCostOptions): LoadCost;
  /** Removes the temporary directory. */
  dispose(): Promise<void>;
}

/** Options of {@link bundleCharmForBench}. */
export interface BundleCharmForBenchOptions {
  /** `@refresh/charm-build`'s bundler (only what writes and names a charm's code is used). */
  readonly bundler: Pick<CharmBundler, "writeCharmCode" | "CHARM_BUNDLE_PATH" | "START_SCRIPT_PATH">;
  /** The charm's entry module (a file path). */
  readonly entry: string;
  /** Prefix of the temporary directory's name, to tell benches apart in the temp dir. */
  readonly tmpPrefix: string;
}

/** Bundles the charm at `entry` into a fresh temporary directory; the caller disposes of it. */
export async function bundleCharmForBench(options: BundleCharmForBenchOptions): Promise<BundledCharmForBench> {
  const workDir = await mkdtemp(join(tmpdir(), options.tmpPrefix));
  const bundlePath = join(workDir, options.bundler.CHARM_BUNDLE_PATH);
  const startScript = join(workDir, options.bundler.START_SCRIPT_PATH);
  try {
    await options.bundler.writeCharmCode(options.entry, workDir);
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
  return {
    bundlePath,
    async sizeBytes() {
      return (await stat(bundlePath)).size;
    },
    measureLoadCost({ runs, warmUpRuns }) {
      const bare: number[] = [];
      const charm: number[] = [];
      for (let run = 0; run < warmUpRuns + runs; run++) {
        const bareMs = timeNode(["-e", "0"]);
        const charmMs = timeNode([startScript]);
        if (run < warmUpRuns) continue;
        bare.push(bareMs);
        charm.push(charmMs);
      }
      const medianBareMs = median(bare);
      const medianCharmMs = median(charm);
      return { runs, medianBareMs, medianCharmMs, ratio: medianCharmMs / medianBareMs };
    },
    async dispose() {
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** The one-line report of a {@link LoadCost} against its budget, as the benches print it. */
export function formatLoadCost(cost: LoadCost, maxRatio: number): string {
  return `node -e 0: ${cost.medianBareMs.toFixed(1)} ms; the bundle: ${cost.medianCharmMs.toFixed(1)} ms; ratio ${cost.ratio.toFixed(2)} (budget ${maxRatio}); medians of ${cost.runs} interleaved runs`;
}
