// Deliberately duplicated in apps/sample-k8s/src/compatibility.ts, so each sample charm can be copied on its own.
import { COMPATIBLE, incompatible, isCompatibleByDefault, type CompatibilityInput, type CompatibilityResult } from "@refresh/core";

/**
 * The sample's own workload rule, added on top of the library's default charm-version rule:
 * Sample DB reads data files of its own major version only, and never goes back to an older
 * version once it has written newer files. Equal versions pass, so rollbacks do.
 */
export function workloadRefreshSupported(oldVersion: string, newVersion: string): boolean {
  const before = parseWorkloadVersion(oldVersion);
  const after = parseWorkloadVersion(newVersion);
  // A version the rule cannot read is not one it can vouch for.
  if (before === undefined || after === undefined) return false;
  if (before.major !== after.major) return false;
  return after.minor >= before.minor;
}

function parseWorkloadVersion(version: string): { major: number; minor: number } | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version.trim());
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * The charm's whole rule as the library asks for it: the default charm-version rule first,
 * then the workload's, with a sentence that says why when it refuses.
 */
export function sampleDbCompatibility(input: CompatibilityInput): CompatibilityResult {
  const byDefault = isCompatibleByDefault(input);
  if (!byDefault.compatible) return byDefault;
  if (workloadRefreshSupported(input.oldWorkloadVersion, input.newWorkloadVersion)) return COMPATIBLE;
  return incompatible(`Sample DB ${input.newWorkloadVersion} cannot take over data files written by ${input.oldWorkloadVersion}`);
}
