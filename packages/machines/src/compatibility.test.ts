import { CharmVersion, isCompatibleByDefault } from "@refresh/core";
import { describe, expect, it } from "vitest";

// Machines uses core's default rule; this table pins the answers the machines substrate gave
// before it moved to core, so the move cannot change which refreshes are blocked.
const ask = (oldCharmVersion: string, newCharmVersion: string) =>
  isCompatibleByDefault({
    oldCharmVersion: new CharmVersion(oldCharmVersion),
    newCharmVersion: new CharmVersion(newCharmVersion),
    oldWorkloadVersion: "16.4",
    newWorkloadVersion: "16.8",
  }).compatible;

describe("the default compatibility rule as machines uses it", () => {
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
