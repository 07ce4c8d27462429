import { machine } from "node:os";
import { fileURLToPath } from "node:url";
import { measureUpdateStatusCost, type EventCostRow, type UpdateStatusCost, type World } from "@refresh/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadCharmBuild } from "./bench-support/charm-build.js";

/**
 * Budget (issues 4 and 5, design decision 6) for a whole hook, not just loading the bundle:
 * the minimal machine charm of `bench-support/minimal-charm.ts`, bundled by
 * `@refresh/charm-build` behind its generated `dispatch`, runs as a real process for every
 * event of a 3-unit app in a process-mode world (compiled hook-tool client, one fake snapd per
 * machine on its unix socket). Steady-state `update-status` on the leader and on non-leaders,
 * and `update-status` while a refresh is paused, are each measured over ROUNDS interleaved
 * with a bare `node -e 0`.
 *
 * Enforced: at most N + 10 hook-tool calls per event, no relation-set in steady state, at
 * most STEADY_SNAPD_REQUESTS snapd requests per steady-state event, and the median of hook /
 * bare-node ratios within MAX_RATIO. On a machine too loaded for wall time to mean anything,
 * REFRESH_BENCH_ENFORCE_TIME=0 reports the time only (see the README's "Per-event cost").
 */
const UNITS = 3;
const ROUNDS = 12;
const WARM_UP_ROUNDS = 2;
const MAX_RATIO = 2;
const STEADY_SNAPD_REQUESTS = 2;
const ENFORCE_TIME = process.env["REFRESH_BENCH_ENFORCE_TIME"] !== "0";

const SNAP = "charmed-db";
const SNAP_REVISIONS: Readonly<Record<number, { charm: string; workload: string; snap: string }>> = {
  10: { charm: "16/1.19.0", workload: "16.4", snap: "182" },
  11: { charm: "16/1.20.0", workload: "16.8", snap: "183" },
};

function charmFiles(revision: number): Record<string, string> {
  const versions = SNAP_REVISIONS[revision];
  if (versions === undefined) throw new Error(`no minimal charm revision ${revision}`);
  return {
    "metadata.yaml": "name: db\npeers:\n  refresh-v-three:\n    interface: refresh\n",
    "config.yaml": "options:\n  pause-after-unit-refresh:\n    type: string\n    default: first\n",
    "actions.yaml": "pre-refresh-check: {}\nforce-refresh-start: {}\nresume-refresh: {}\n",
    // Pinned for this machine's `uname -m`, the key the library looks up (os.machine()).
    "refresh_versions.toml": `charm = "${versions.charm}"\nworkload = "${versions.workload}"\n\n[snap]\nname = "${SNAP}"\n\n[snap.revisions]\n${machine()} = "${versions.snap}"\n`,
  };
}

/** Requests to every machine's snapd so far. */
function snapdRequests(world: World): number {
  const machines = world.machines;
  if (machines === undefined) return 0;
  return machines.machines.reduce((sum, unit) => sum + machines.snapd(unit).requests.length, 0);
}

/** Throws unless exactly the first unit has the new snap revision installed. */
function checkRefreshPaused(world: World): void {
  const installed = world.sim.status().units.map((row) => row.snap?.revision);
  if (!installed.includes("183") || installed.every((revision) => revision === "183")) {
    throw new Error(`the refresh did not pause after the first unit: snap revisions ${installed.join(", ")}`);
  }
}

describe(`one hook of a ${UNITS}-unit machine app through dispatch`, () => {
  let cost: UpdateStatusCost;
  const rows: EventCostRow[] = [];

  beforeAll(async () => {
    cost = await measureUpdateStatusCost({
      substrate: "machines",
      bundler: await loadCharmBuild(),
      entry: fileURLToPath(new URL("./bench-support/minimal-charm-main.ts", import.meta.url)),
      tmpPrefix: "machines-hook-cost-",
      revisions: [10, 11],
      files: charmFiles,
      machines: {
        snap: { name: SNAP, revisions: [{ revision: "182", version: "16.4" }, { revision: "183", version: "16.8" }], installed: "182" },
      },
      units: UNITS,
      rounds: ROUNDS,
      warmUpRounds: WARM_UP_ROUNDS,
      counters: (world) => ({ requests: snapdRequests(world), connections: undefined }),
      checkRefreshPaused,
      requestsLabel: "snapd requests",
      floor: { entry: fileURLToPath(new URL("./bench-support/snapd-floor.ts", import.meta.url)), label: "node and this package's snapd client asking for the installed revision, nothing else" },
    });
    rows.push(...cost.rows);
  }, 600_000);

  afterAll(async () => {
    await cost?.dispose();
  });

  test(`at most ${UNITS} + 10 hook-tool calls per event`, () => {
    for (const row of rows) expect(row.maxToolCalls, row.event).toBeLessThanOrEqual(UNITS + 10);
  });

  test("no relation-set in steady state", () => {
    for (const row of rows.filter((candidate) => candidate.event.includes("steady"))) expect(row.maxRelationSets, row.event).toBe(0);
  });

  test(`steady state: at most ${STEADY_SNAPD_REQUESTS} snapd requests`, () => {
    for (const row of rows.filter((candidate) => candidate.event.includes("steady"))) expect(row.maxRequests, row.event).toBeLessThanOrEqual(STEADY_SNAPD_REQUESTS);
  });

  test.runIf(ENFORCE_TIME)(`steady state within ${MAX_RATIO}x a bare node start-up (median)`, () => {
    for (const row of rows.filter((candidate) => candidate.event.includes("steady"))) expect(row.ratio, row.event).toBeLessThanOrEqual(MAX_RATIO);
  });
});
