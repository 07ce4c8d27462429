import { afterAll, beforeAll, describe, test } from "vitest";
import { deployTestCharm, V1, V2, type TestWorld } from "./scenarios/testCharm.js";

// Budgets: a steady-state event may make at most N + 10 hook-tool calls for N units (the
// library's share plus the test charm's two status-set calls), no relation-set, and at most
// SNAPD_BUDGET requests to snapd (the revision sync, plus the live read while a refresh is in progress).
const UNITS = 5;
const SNAPD_BUDGET = 2;

let world: TestWorld;

/** snapd requests answered so far, per unit. */
function snapdRequests(): Map<string, number> {
  return new Map([...world.machines].map(([unit, snapd]) => [unit, snapd.requests.length]));
}

function checkBudget(label: string, since: number, allowRelationSet: boolean, snapdBefore: Map<string, number>): void {
  const hooks = world.sim.history.slice(since);
  for (const [unit, snapd] of world.machines) {
    const requests = snapd.requests.length - (snapdBefore.get(unit) ?? 0);
    const events = hooks.filter((hook) => hook.unit === unit).length;
    if (requests > SNAPD_BUDGET * events) {
      throw new Error(`${label}: ${unit} made ${requests} snapd requests in ${events} events (budget ${SNAPD_BUDGET} per event): ${snapd.requests.slice(-requests).map((r) => `${r.method} ${r.path}${r.query}`).join(", ")}`);
    }
  }
  for (const hook of hooks) {
    const total = Object.values(hook.toolCalls).reduce((sum, count) => sum + count, 0);
    if (total > UNITS + 10) throw new Error(`${label}: ${hook.unit} ${hook.hook} made ${total} hook-tool calls (budget ${UNITS + 10}): ${JSON.stringify(hook.toolCalls)}`);
    if (!allowRelationSet && (hook.toolCalls["relation-set"] ?? 0) > 0) throw new Error(`${label}: ${hook.unit} ${hook.hook} wrote to a databag although nothing changed`);
  }
}

describe("machines per-event cost", () => {
  beforeAll(async () => {
    world = await deployTestCharm({ revisions: [V1, V2], units: UNITS, pause: "all" });
  });
  afterAll(async () => world.close());

  test("steady state", async ({ bench }) => {
    await bench("update-status on every unit", async () => {
      const since = world.sim.history.length;
      const snapdBefore = snapdRequests();
      world.sim.fireUpdateStatus();
      await world.sim.settle();
      checkBudget("steady state", since, false, snapdBefore);
    }).run({ time: 0, iterations: 5, warmupTime: 0, warmupIterations: 0 });
  });

  test("refresh in progress", async ({ bench }) => {
    world.sim.refresh({ to: 613 });
    await world.sim.settle();
    await bench("update-status on every unit while paused", async () => {
      const since = world.sim.history.length;
      const snapdBefore = snapdRequests();
      world.sim.fireUpdateStatus();
      await world.sim.settle();
      checkBudget("in progress", since, false, snapdBefore);
    }).run({ time: 0, iterations: 5, warmupTime: 0, warmupIterations: 0 });
  });
});
