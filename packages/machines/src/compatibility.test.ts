import { describe, expect, it } from "vitest";
import { defaultIsCompatible } from "./compatibility.js";

const ask = (oldCharmVersion: string, newCharmVersion: string) =>
  defaultIsCompatible({ oldCharmVersion, newCharmVersion, oldWorkloadVersion: "16.4", newWorkloadVersion: "16.8" });

describe("defaultIsCompatible", () => {
  it.each([
    ["16/1.19.0", "16/1.20.0", true],
    ["16/1.19.0", "16/1.19.0", true],
    ["16/1.19.0", "16/1.19.1", true],
    ["16/1.9.0", "16/1.10.0", true],
    ["16/1.20.0", "16/1.19.0", false],
    ["16/1.19.0", "16/2.0.0", false],
    ["16/1.19.0", "17/1.19.0", false],
    ["16/1.19.0", "16/1.20.0.post1.dev0+71201f4", false],
    ["16/1.19.0.dev0", "16/1.20.0", false],
    ["16/1.09.0", "16/1.10.0", false],
    ["16/v1.19.0", "16/1.20.0", false],
  ])("%s -> %s: %s", (from, to, expected) => {
    expect(ask(from, to)).toBe(expected);
  });
});
