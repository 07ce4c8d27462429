import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { bundleCharmForBench, formatLoadCost } from "./load-cost.js";

// Lays out a charm's code as charm-build does, with a start script that runs the bundle.
const tinyBundler = (code: string, entries: string[] = []) => ({
  CHARM_BUNDLE_PATH: "dist/charm.cjs",
  START_SCRIPT_PATH: "dist/start.cjs",
  async writeCharmCode(entry: string, charmDir: string) {
    entries.push(entry);
    await mkdir(join(charmDir, "dist"), { recursive: true });
    await writeFile(join(charmDir, "dist", "charm.cjs"), code);
    await writeFile(join(charmDir, "dist", "start.cjs"), 'require("./charm.cjs");\n');
  },
});

describe("bundleCharmForBench", () => {
  test("bundles the entry, weighs the bundle, times it against a bare start and cleans up", async () => {
    const entries: string[] = [];
    const charm = await bundleCharmForBench({ bundler: tinyBundler("// a charm that does nothing\n", entries), entry: "/src/charm.ts", tmpPrefix: "load-cost-test-" });
    try {
      expect(entries).toEqual(["/src/charm.ts"]);
      expect(await charm.sizeBytes()).toBe("// a charm that does nothing\n".length);
      const cost = charm.measureLoadCost({ runs: 1, warmUpRuns: 0 });
      expect(cost.runs).toBe(1);
      expect(cost.medianBareMs).toBeGreaterThan(0);
      expect(cost.ratio).toBeCloseTo(cost.medianCharmMs / cost.medianBareMs);
    } finally {
      await charm.dispose();
    }
    await expect(stat(charm.bundlePath)).rejects.toThrow();
  });

  test("reports a bundle that fails to load rather than timing it", async () => {
    const charm = await bundleCharmForBench({ bundler: tinyBundler("process.exit(3);\n"), entry: "/src/charm.ts", tmpPrefix: "load-cost-test-" });
    try {
      expect(() => charm.measureLoadCost({ runs: 1, warmUpRuns: 0 })).toThrow(/exited with 3/);
    } finally {
      await charm.dispose();
    }
  });
});

describe("formatLoadCost", () => {
  test("names both medians, the ratio against its budget and the number of runs", () => {
    expect(formatLoadCost({ runs: 25, medianBareMs: 40, medianCharmMs: 61.25, ratio: 61.25 / 40 }, 2)).toBe(
      "node -e 0: 40.0 ms; the bundle: 61.3 ms; ratio 1.53 (budget 2); medians of 25 interleaved runs",
    );
  });
});
