import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CharmVersion } from "./charmVersion.js";
import { COMPATIBLE, incompatible, isCompatibleByDefault, toCompatibilityResult } from "./compatibility.js";
import type { CompatibilityInput, CompatibilityResult, IsCompatible } from "./compatibility.js";

function input(oldCharm: string, newCharm: string, oldWorkload = "16.8", newWorkload = "16.9"): CompatibilityInput {
  return {
    oldCharmVersion: new CharmVersion(oldCharm),
    newCharmVersion: new CharmVersion(newCharm),
    oldWorkloadVersion: oldWorkload,
    newWorkloadVersion: newWorkload,
  };
}

function reasonOf(result: CompatibilityResult): string {
  return result.compatible ? "COMPATIBLE" : result.reason;
}

describe("isCompatibleByDefault", () => {
  it.each([
    ["16/1.19.0", "16/1.19.0", "COMPATIBLE"],
    ["16/1.19.0", "16/1.20.0", "COMPATIBLE"],
    ["16/1.19.0", "16/1.19.1", "COMPATIBLE"],
    ["16/1.19.0", "16/1.18.9", "CHARM_DOWNGRADE"],
    ["16/1.19.0", "16/2.0.0", "MAJOR_CHANGED"],
    ["16/2.0.0", "16/1.99.0", "MAJOR_CHANGED"],
    ["14/1.19.0", "16/1.19.0", "TRACK_CHANGED"],
    ["16/1.19.0", "16/1.20.0.post1.dev0+71201f4.dirty", "CHARM_VERSION_NOT_RELEASED"],
    ["16/1.19.0rc1", "16/1.19.0", "CHARM_VERSION_NOT_RELEASED"],
    ["16/1.19.0.dev0", "16/1.19.0.dev0", "CHARM_VERSION_NOT_RELEASED"],
    ["14/1.19.0.dev0", "16/2.0.0", "CHARM_VERSION_NOT_RELEASED"],
  ])("%s → %s: %s", (from, to, expected) => {
    expect(reasonOf(isCompatibleByDefault(input(from, to)))).toBe(expected);
  });

  it("explains each refusal with the versions involved", () => {
    const messages = [
      isCompatibleByDefault(input("16/1.19.0", "16/1.18.9")),
      isCompatibleByDefault(input("16/1.19.0", "16/2.0.0")),
      isCompatibleByDefault(input("14/1.19.0", "16/1.19.0")),
      isCompatibleByDefault(input("16/1.19.0rc1", "16/1.20.0.dev0")),
    ].map((r) => (r.compatible ? "" : r.message));
    expect(messages[0]).toBe("charm version 16/1.18.9 is older than 16/1.19.0, and downgrades are not supported");
    expect(messages[1]).toContain("from 1 (16/1.19.0) to 2 (16/2.0.0)");
    expect(messages[2]).toContain("track 14 (14/1.19.0) to track 16 (16/1.19.0)");
    expect(messages[3]).toMatch(/^charm versions 16\/1\.19\.0rc1 and 16\/1\.20\.0\.dev0 are development builds/);
  });

  it("ignores workload versions", () => {
    expect(isCompatibleByDefault(input("16/1.19.0", "16/1.19.0", "16.8", "15.0")).compatible).toBe(true);
  });

  it("passes every identical released version (so rollbacks pass) and refuses every downgrade", () => {
    const release = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map((r) => `7/${r.join(".")}`);
    fc.assert(
      fc.property(release, release, (a, b) => {
        expect(isCompatibleByDefault(input(a, a)).compatible).toBe(true);
        const before = new CharmVersion(a);
        const after = new CharmVersion(b);
        const result = isCompatibleByDefault(input(a, b));
        expect(result.compatible).toBe(before.major === after.major && after.compare(before) >= 0);
      }),
    );
  });
});

describe("charm-specific rules", () => {
  it("can build on the default rule and add a workload rule with its own reason", () => {
    const postgresqlRule: IsCompatible = (versions) => {
      const base = isCompatibleByDefault(versions);
      if (!base.compatible) return base;
      const [oldMajor] = versions.oldWorkloadVersion.split(".");
      const [newMajor] = versions.newWorkloadVersion.split(".");
      return oldMajor === newMajor ? true : incompatible(`PostgreSQL ${oldMajor} cannot be refreshed in place to ${newMajor}`);
    };
    const ok = input("16/1.19.0", "16/1.20.0", "16.8", "16.9");
    const bad = input("16/1.19.0", "16/1.20.0", "15.4", "16.9");
    expect(toCompatibilityResult(postgresqlRule(ok), ok)).toBe(COMPATIBLE);
    expect(toCompatibilityResult(postgresqlRule(bad), bad)).toEqual({
      compatible: false,
      reason: "CHARM_SPECIFIC",
      message: "PostgreSQL 15 cannot be refreshed in place to 16",
    });
  });

  it("gives a plain false an explanation naming the versions", () => {
    const versions = input("16/1.19.0", "16/1.20.0");
    const result = toCompatibilityResult(false, versions);
    expect(result.compatible).toBe(false);
    expect(result.compatible ? "" : result.message).toBe(
      "the charm's compatibility rule refuses the refresh from 16/1.19.0 (workload 16.8) to 16/1.20.0 (workload 16.9)",
    );
    expect(toCompatibilityResult(true, versions)).toBe(COMPATIBLE);
  });

  it("refuses an incompatible result without an explanation", () => {
    expect(() => incompatible(" ")).toThrow(TypeError);
  });
});
