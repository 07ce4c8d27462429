import { describe, expect, test } from "vitest";
import type { HookRecord } from "../model/index.js";
import { median, summariseEventCost, type MeasuredHook } from "./hook-cost.js";

/** A measured hook whose simulator bookkeeping added 5 ms to its process time. */
function hook(processMs: number, bareMs: number, toolCalls: Record<string, number>, requests = 0, connections: number | undefined = undefined): MeasuredHook {
  const record = { unit: "db/0", hook: "update-status", outcome: "succeeded", toolCalls, processMs } as unknown as HookRecord;
  return { record, processMs, wallMs: processMs + 5, bareMs, requests, connections };
}

describe("median", () => {
  test("takes the middle value, or the mean of the two middle values, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test("refuses an empty list rather than reporting a number", () => {
    expect(() => median([])).toThrow();
  });
});

describe("summariseEventCost", () => {
  test("ratios each hook against its own bare run and keeps the worst counts", () => {
    const row = summariseEventCost("update-status", [
      hook(30, 10, { "relation-get": 2 }, 3, 1),
      hook(40, 40, { "relation-get": 4, "relation-set": 1 }, 1, 1),
      hook(50, 20, { "status-set": 1 }, 2, 2),
    ]);
    expect(row.runs).toBe(3);
    expect(row.medianProcessMs).toBe(40);
    expect(row.medianWallMs, "the simulator's time is reported apart, not in the ratio").toBe(45);
    expect(row.medianBareMs).toBe(20);
    // Per-run ratios of process time 3, 1 and 2.5: the median of ratios, not the ratio of medians (2).
    expect(row.ratio).toBe(2.5);
    expect(row.maxToolCalls).toBe(5);
    expect(row.maxRelationSets).toBe(1);
    expect(row.maxRequests).toBe(3);
    expect(row.maxConnections).toBe(2);
    expect(row.busiestCalls).toEqual({ "relation-get": 4, "relation-set": 1 });
  });

  test("reports no connection count when any run could not count them", () => {
    expect(summariseEventCost("update-status", [hook(1, 1, {}, 0, 1), hook(1, 1, {}, 0, undefined)]).maxConnections).toBeUndefined();
  });
});
