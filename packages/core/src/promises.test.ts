import { describe, expect, it } from "vitest";
import { alongside, settled, settledValue } from "./index.js";

describe("settledValue", () => {
  it("returns the value of a fulfilled read", async () => {
    const [result] = await Promise.allSettled([Promise.resolve({ unit: "app/0" })]);
    expect(settledValue(result!)).toEqual({ unit: "app/0" });
  });

  it("rethrows the very reason a read was rejected with, not a wrapper", async () => {
    const reason = new Error("relation-get failed");
    const [result] = await Promise.allSettled([Promise.reject(reason)]);
    let thrown: unknown;
    try {
      settledValue(result!);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(reason);
  });

  it("throws the first failure in the order values are taken, not the order reads finished", async () => {
    const slow = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("first read")), 5));
    const fast = Promise.reject(new Error("second read"));
    const [first, second] = await Promise.allSettled([slow, fast]);
    expect(() => [settledValue(first!), settledValue(second!)]).toThrow("first read");
  });
});

describe("settled", () => {
  it("resolves with the outcome of a step started early, failure included, so it is consumed later", async () => {
    const reason = new Error("application-version-set failed");
    const failing = settled(Promise.reject(reason));
    // Nothing awaits it yet: a plain rejected promise here would be reported as unhandled.
    await new Promise((resolve) => setTimeout(resolve, 1));
    await expect(failing).resolves.toEqual({ status: "rejected", reason });
    await expect(settled(Promise.resolve(3))).resolves.toEqual({ status: "fulfilled", value: 3 });
  });
});

describe("alongside", () => {
  it("hands the body the step's outcome and returns only after the step ended, even when the body fails", async () => {
    const order: string[] = [];
    const step = new Promise<void>((resolve) => setTimeout(() => (order.push("step ended"), resolve()), 5));
    const bodyFailure = new Error("decision failed");
    await expect(
      alongside(step, async () => {
        order.push("body ran");
        throw bodyFailure;
      }),
    ).rejects.toBe(bodyFailure);
    expect(order).toEqual(["body ran", "step ended"]);
  });

  it("reports the step's failure where the body consumes it, never as an unhandled rejection", async () => {
    const reason = new Error("application-version-set failed");
    await expect(alongside(Promise.reject(reason), async (outcome) => void settledValue(await outcome))).rejects.toBe(reason);
    await expect(alongside(Promise.reject(reason), async () => undefined)).resolves.toBeUndefined();
  });
});
