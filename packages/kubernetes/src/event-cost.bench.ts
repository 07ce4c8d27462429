import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EventOutcome } from "./__tests__/world.js";
import { Scenario, V1, V2 } from "./__tests__/scenario.js";

/**
 * Budget (design decision 6): an event in steady state costs at most N + 10 hook-tool calls
 * for N units and writes nothing to the peer relation; the API server sees three requests
 * (access review, StatefulSet, pods). During a refresh the leader may add one StatefulSet
 * re-read and one partition patch, and every unit one log line. Counts are checked before
 * timing; a broken budget fails the run.
 */
const UNITS = 5;

function total(outcome: EventOutcome): number {
  return Object.values(outcome.toolCalls).reduce((sum, count) => sum + count, 0);
}

function assertBudget(name: string, outcome: EventOutcome, budget: { toolCalls: number; requests: number; relationSets: number }): void {
  const requests = Object.values(outcome.requests).reduce((sum, count) => sum + count, 0);
  const relationSets = outcome.toolCalls["relation-set"] ?? 0;
  if (outcome.error !== undefined) throw new Error(`${name}: the event failed: ${String(outcome.error)}`);
  if (total(outcome) > budget.toolCalls || requests > budget.requests || relationSets > budget.relationSets) {
    throw new Error(
      `${name} is over budget: ${total(outcome)} hook-tool calls (budget ${budget.toolCalls}), ${requests} API requests (budget ${budget.requests}), ${relationSets} relation-set (budget ${budget.relationSets}); calls: ${JSON.stringify(outcome.toolCalls)}`,
    );
  }
  console.log(`${name}: ${total(outcome)} hook-tool calls ${JSON.stringify(outcome.toolCalls)}, API requests ${JSON.stringify(outcome.requests)}`);
}

describe(`one event of a ${UNITS}-unit application`, () => {
  let idle: Scenario;
  let refreshing: Scenario;

  beforeAll(async () => {
    idle = await Scenario.create(UNITS, V1);
    await idle.everyUnit("install");
    await idle.everyUnit();
    assertBudget("steady state, non-leader", await idle.event(3), { toolCalls: UNITS + 10, requests: 3, relationSets: 0 });
    assertBudget("steady state, leader", await idle.event(0), { toolCalls: UNITS + 10, requests: 3, relationSets: 0 });

    refreshing = await Scenario.create(UNITS, V1);
    refreshing.world.config["pause-after-unit-refresh"] = "all";
    await refreshing.everyUnit("install");
    refreshing.world.jujuRefresh(V2);
    await refreshing.settle();
    await refreshing.everyUnit();
    assertBudget("refresh paused, non-leader", await refreshing.event(2), { toolCalls: UNITS + 10, requests: 3, relationSets: 0 });
    assertBudget("refresh paused, leader", await refreshing.event(0), { toolCalls: UNITS + 10, requests: 3, relationSets: 0 });
  });

  afterAll(async () => {
    await idle.dispose();
    await refreshing.dispose();
  });

  test("stays within the hook-tool and API budgets", () => {
    // The budgets are asserted in beforeAll; reaching this point means they held.
    expect(idle.violations).toEqual([]);
    expect(refreshing.violations).toEqual([]);
  });

  test("time per event (in-memory hook tools and API)", async ({ bench }) => {
    await bench.compare(
      bench("steady state, non-leader", async () => {
        await idle.event(3);
      }),
      bench("refresh in progress, leader", async () => {
        await refreshing.event(0);
      }),
    );
  });
});
