import { describe, expect, it } from "vitest";
import { settled, settledValue } from "./index.js";

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
