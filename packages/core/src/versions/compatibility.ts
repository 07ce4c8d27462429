import type { CharmVersion } from "./charmVersion.js";

/** The versions a compatibility rule decides on: what the application ran, and what it refreshes to. */
export interface CompatibilityInput {
  /** Charm version the application ran before the refresh (from the original versions). */
  readonly oldCharmVersion: CharmVersion;
  /** Charm version of the code now running the check. */
  readonly newCharmVersion: CharmVersion;
  /** Workload version the application ran before the refresh. */
  readonly oldWorkloadVersion: string;
  /** Workload version the new charm code pins. */
  readonly newWorkloadVersion: string;
}

/** Why the default rule refused a refresh; `CHARM_SPECIFIC` when the charm's own rule did. */
export type IncompatibilityReason =
  | "CHARM_VERSION_NOT_RELEASED"
  | "TRACK_CHANGED"
  | "MAJOR_CHANGED"
  | "CHARM_DOWNGRADE"
  | "CHARM_SPECIFIC";

/**
 * The answer of a compatibility rule. When incompatible, `message` says why in one sentence
 * (for statuses, action output and logs), without telling the user to roll back: the library
 * adds that.
 */
export type CompatibilityResult =
  | { readonly compatible: true }
  | { readonly compatible: false; readonly reason: IncompatibilityReason; readonly message: string };

/**
 * A charm's compatibility rule, the TypeScript form of `is_compatible`. It runs on the new
 * charm code, must use only its input, and must return true when old and new are equal for
 * both the charm and the workload (so that rollbacks pass). Charms usually call
 * {@link isCompatibleByDefault} first and then add workload rules; they may return a plain
 * boolean or a {@link CompatibilityResult} that explains a refusal.
 */
export type IsCompatible = (input: CompatibilityInput) => boolean | CompatibilityResult;

/** The compatible answer. */
export const COMPATIBLE: CompatibilityResult = Object.freeze({ compatible: true });

/** An incompatible answer with the charm's own explanation, for charm-specific rules. */
export function incompatible(message: string, reason: IncompatibilityReason = "CHARM_SPECIFIC"): CompatibilityResult {
  if (message.trim() === "") throw new TypeError("an incompatible result needs a message that says why");
  return Object.freeze({ compatible: false, reason, message });
}

/**
 * The default compatibility rule. A refresh is compatible when all of these hold, checked in
 * this order: both charm versions are released builds (development builds have no
 * compatibility promise), they are on the same track, they have the same major version, and
 * the new version is not older than the old one. An identical released version passes, so
 * rollbacks pass (a development build is refused even against itself, as in the Python
 * library; rollbacks do not run the check). Workload versions are not looked at: charms add
 * their own rules.
 */
export function isCompatibleByDefault(input: CompatibilityInput): CompatibilityResult {
  const { oldCharmVersion: before, newCharmVersion: after } = input;
  const unreleased = [...new Set([before, after].filter((v) => !v.released).map((v) => v.toString()))];
  if (unreleased.length > 0) {
    const plural = unreleased.length > 1;
    return incompatible(
      `charm version${plural ? "s" : ""} ${unreleased.join(" and ")} ${plural ? "are development builds" : "is a development build"}, ` +
        `and compatibility is only known between released versions`,
      "CHARM_VERSION_NOT_RELEASED",
    );
  }
  if (before.track !== after.track) {
    return incompatible(
      `the charm moves from track ${before.track} (${before}) to track ${after.track} (${after}); ` +
        `refreshes across tracks are not supported by default`,
      "TRACK_CHANGED",
    );
  }
  if (before.major !== after.major) {
    return incompatible(
      `the charm's major version changes from ${before.major} (${before}) to ${after.major} (${after}); ` +
        `a change of major version needs a specific refresh path`,
      "MAJOR_CHANGED",
    );
  }
  if (after.compare(before) < 0) {
    return incompatible(`charm version ${after} is older than ${before}, and downgrades are not supported`, "CHARM_DOWNGRADE");
  }
  return COMPATIBLE;
}

/**
 * Turns what a charm's {@link IsCompatible} returned into a {@link CompatibilityResult}, so that
 * a plain `false` still comes with an explanation.
 */
export function toCompatibilityResult(answer: boolean | CompatibilityResult, input: CompatibilityInput): CompatibilityResult {
  if (typeof answer !== "boolean") return answer;
  if (answer) return COMPATIBLE;
  return incompatible(
    `the charm's compatibility rule refuses the refresh from ${input.oldCharmVersion} (workload ${input.oldWorkloadVersion}) ` +
      `to ${input.newCharmVersion} (workload ${input.newWorkloadVersion})`,
  );
}
