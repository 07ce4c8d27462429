/** The versions a compatibility decision is about: the original ones and the ones being refreshed to. */
export interface CompatibilityQuestion {
  /** Charm version the application ran before this refresh, e.g. `16/1.19.0`. */
  readonly oldCharmVersion: string;
  /** Charm version being refreshed to. */
  readonly newCharmVersion: string;
  /** Workload version the application ran before this refresh, e.g. `16.4`. */
  readonly oldWorkloadVersion: string;
  /** Workload version being refreshed to. */
  readonly newWorkloadVersion: string;
}

// A released charm version is exactly `<track>/<major>.<minor>.<patch>` in canonical PEP 440
// spelling (no leading zeros, no pre/post/dev/local part). Anything else is a development
// build, which the default rule never calls compatible, so PEP 440 ordering beyond plain
// release triples is never needed here.
const RELEASED = /^([^/]+)\/(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

function released(version: string): { track: string; release: [number, number, number] } | undefined {
  const match = RELEASED.exec(version);
  if (match === null) return undefined;
  return { track: match[1] ?? "", release: [Number(match[2]), Number(match[3]), Number(match[4])] };
}

/**
 * The default compatibility rule: both charm versions are released builds on the same track
 * and major version, and the new one is not older (an identical version passes, so
 * rollbacks do). Charms that override `isCompatible` should call this and add their own
 * workload rules on top.
 */
export function defaultIsCompatible(question: CompatibilityQuestion): boolean {
  const old = released(question.oldCharmVersion);
  const next = released(question.newCharmVersion);
  if (old === undefined || next === undefined) return false;
  if (old.track !== next.track || old.release[0] !== next.release[0]) return false;
  for (let index = 0; index < 3; index += 1) {
    const difference = (next.release[index] ?? 0) - (old.release[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}
