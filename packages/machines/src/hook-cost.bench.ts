import { mkdtemp, rm } from "node:fs/promises";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createWorld,
  formatEventCostTable,
  runHooksTimed,
  summariseEventCost,
  writeBundledCharmDirs,
  type CharmRevision,
  type EventCostRow,
  type MeasuredHook,
  type ServerCounters,
  type World,
} from "@refresh/testing";
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
 * most STEADY_SNAPD_REQUESTS snapd requests per steady-state event. Time is reported as the
 * median of hook / bare-node ratios and checked against MAX_RATIO only when
 * REFRESH_BENCH_ENFORCE_TIME=1, because on a shared 2-core machine wall time depends on what
 * else runs (see the README's "Per-event cost").
 */
const UNITS = 3;
const ROUNDS = 12;
const WARM_UP_ROUNDS = 2;
const MAX_RATIO = 2;
const STEADY_SNAPD_REQUESTS = 2;
const ENFORCE_TIME = process.env["REFRESH_BENCH_ENFORCE_TIME"] === "1";

const SNAP = "charmed-db";
const SNAP_REVISIONS: Readonly<Record<number, { charm: string; workload: string; snap: string }>> = {
  10: { charm: "16/1.19.0", workload: "16.4", snap: "182" },
  11: { charm: "16/1.20.0", workload: "16.8", snap: "183" },
};

/** `uname -m` of this machine: the pinned revision applies to it. */
function machineArchitecture(): string {
  const names: Readonly<Record<string, string>> = { x64: "x86_64", arm64: "aarch64", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return names[arch()] ?? arch();
}

function charmFiles(revision: number): Record<string, string> {
  const versions = SNAP_REVISIONS[revision];
  if (versions === undefined) throw new Error(`no minimal charm revision ${revision}`);
  return {
    "metadata.yaml": "name: db\npeers:\n  refresh-v-three:\n    interface: refresh\n",
    "config.yaml": "options:\n  pause-after-unit-refresh:\n    type: string\n    default: first\n",
    "actions.yaml": "pre-refresh-check: {}\nforce-refresh-start: {}\nresume-refresh: {}\n",
    "refresh_versions.toml": `charm = "${versions.charm}"\nworkload = "${versions.workload}"\n\n[snap]\nname = "${SNAP}"\n\n[snap.revisions]\n${machineArchitecture()} = "${versions.snap}"\n`,
  };
}

/** Bundles the minimal charm and writes one packed-charm directory per revision. */
async function packedRevisions(root: string): Promise<CharmRevision[]> {
  const dirs = await writeBundledCharmDirs({
    bundler: await loadCharmBuild(),
    entry: fileURLToPath(new URL("./bench-support/minimal-charm-main.ts", import.meta.url)),
    root,
    revisions: [10, 11],
    files: charmFiles,
  });
  return [...dirs].map(([revision, dir]) => ({ revision, dir }));
}

describe(`one hook of a ${UNITS}-unit machine app through dispatch`, () => {
  let root: string;
  let world: World;
  const rows: EventCostRow[] = [];

  /** Requests to every machine's snapd so far. */
  function snapdRequests(): number {
    const machines = world.machines;
    if (machines === undefined) return 0;
    return machines.machines.reduce((sum, unit) => sum + machines.snapd(unit).requests.length, 0);
  }

  /** Fires update-status ROUNDS times (after warm-ups) and splits the runs into leader and others. */
  async function measureUpdateStatus(label: string): Promise<{ leader: MeasuredHook[]; others: MeasuredHook[] }> {
    const counters = (): ServerCounters => ({ requests: snapdRequests(), connections: undefined });
    const leader: MeasuredHook[] = [];
    const others: MeasuredHook[] = [];
    for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      world.sim.fireUpdateStatus();
      const hooks = await runHooksTimed(world.sim, join(root, ".bare-compile-cache"), counters);
      for (const hook of hooks) {
        if (hook.record.outcome !== "succeeded") throw new Error(`${label}: ${hook.record.unit} ${hook.record.hook} failed: ${hook.record.error ?? ""}\n${hook.record.stderr ?? ""}`);
        if (hook.record.hook !== "update-status") throw new Error(`${label}: an unexpected ${hook.record.hook} ran on ${hook.record.unit}; the model was not settled`);
      }
      if (round < WARM_UP_ROUNDS) continue;
      for (const hook of hooks) (hook.record.unit === world.sim.leader ? leader : others).push(hook);
    }
    return { leader, others };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "machines-hook-cost-"));
    world = await createWorld({
      substrate: "machines",
      mode: "process",
      charm: { revisions: await packedRevisions(root) },
      units: UNITS,
      seed: 1,
      config: { "pause-after-unit-refresh": "first" },
      machines: {
        snap: { name: SNAP, revisions: [{ revision: "182", version: "16.4" }, { revision: "183", version: "16.8" }], installed: "182" },
      },
      // Hooks one at a time and no scheduling at requests: each hook runs straight through.
      simulator: { appName: "db", concurrency: "serial" },
      yieldAtRequests: false,
      hookToolClient: "compiled",
    });
    await world.sim.settle();

    const steady = await measureUpdateStatus("steady state");
    rows.push(summariseEventCost("update-status, steady, leader", steady.leader), summariseEventCost("update-status, steady, non-leader", steady.others));

    world.sim.refresh({ to: 11 });
    await world.sim.settle();
    const installed = world.sim.status().units.map((row) => row.snap?.revision);
    if (!installed.includes("183") || installed.every((revision) => revision === "183")) {
      throw new Error(`the refresh did not pause after the first unit: snap revisions ${installed.join(", ")}`);
    }
    const paused = await measureUpdateStatus("refresh paused");
    rows.push(summariseEventCost("update-status, refresh paused, leader", paused.leader), summariseEventCost("update-status, refresh paused, non-leader", paused.others));
    console.log(`\n${formatEventCostTable(rows, "snapd requests")}\n(ratio: median over ${ROUNDS} rounds of hook / the bare node run just before it; counts: max per hook)\n`);
  }, 600_000);

  afterAll(async () => {
    await world?.dispose();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
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
