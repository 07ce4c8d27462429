import { InvalidPauseAfterUnitRefresh } from "../errors.js";
import type { DecodedDatabag } from "../protocol/databag.js";
import type { KubernetesUnitFields } from "../protocol/kubernetes-databag.js";

/** The config option that sets after which units the refresh waits for `resume-refresh`. */
export const PAUSE_AFTER_UNIT_REFRESH = "pause-after-unit-refresh";

/** The valid values of `pause-after-unit-refresh`, most cautious last. */
export const PAUSE_AFTER_UNIT_REFRESH_VALUES = ["none", "first", "all"] as const;

/** A valid `pause-after-unit-refresh` value. */
export type PauseAfterUnitRefresh = (typeof PAUSE_AFTER_UNIT_REFRESH_VALUES)[number];

/** The default of the config option (as shipped in `charmcraft.yaml`). */
export const PAUSE_AFTER_UNIT_REFRESH_DEFAULT: PauseAfterUnitRefresh = "first";

/**
 * The pause policy in force, and whether it came from an invalid value. An invalid value
 * behaves as `all` (the most cautious), but callers still word some messages differently and
 * show the finding's `status` where the spec asks for it.
 */
export interface PauseSetting {
  /** The policy to gate with. */
  readonly policy: PauseAfterUnitRefresh;
  /** Set when the value was not exactly `all`, `first` or `none` (case-sensitive). */
  readonly invalid: InvalidPauseAfterUnitRefresh | undefined;
}

function isValid(value: unknown): value is PauseAfterUnitRefresh {
  return typeof value === "string" && (PAUSE_AFTER_UNIT_REFRESH_VALUES as readonly string[]).includes(value);
}

/**
 * Parses a `pause-after-unit-refresh` value as `config-get` returns it (`undefined` when the
 * option is missing from the charm's config). Never throws: anything but the three exact
 * lowercase words yields policy `all` and a finding.
 */
export function parsePauseAfterUnitRefresh(raw: unknown): PauseSetting {
  if (isValid(raw)) return { policy: raw, invalid: undefined };
  return { policy: "all", invalid: new InvalidPauseAfterUnitRefresh(raw) };
}

/** Marks a unit whose published pause value could not be decoded (see {@link effectivePauseAfterUnitRefresh}). */
export const MALFORMED_PAUSE_VALUE: unique symbol = Symbol("malformed pause-after-unit-refresh value");

/**
 * What one unit published as the config value it sees: the raw string, `undefined` when it
 * has not published one yet, or {@link MALFORMED_PAUSE_VALUE} when its databag value is broken.
 */
export type PublishedPauseValue = string | undefined | typeof MALFORMED_PAUSE_VALUE;

// An invalid value ranks above all three (see moreCautious): it gates like `all` but must also
// surface as a finding.
const CAUTION: Readonly<Record<PauseAfterUnitRefresh, number>> = { none: 0, first: 1, all: 2 };

/**
 * The pause policy of an application, from the values its most up-to-date units published
 * (Kubernetes: units do not all see the current config, because Juju does not send
 * `config-changed` to outdated units, so each unit publishes what it sees). The most cautious
 * value wins, an invalid or malformed one above all. Units that have not published a value
 * are skipped, so a unit that just joined cannot cause an "invalid config" status; when no
 * unit has published one, `ownValue` (this unit's `config-get`) decides.
 */
export function effectivePauseAfterUnitRefresh(published: Iterable<PublishedPauseValue>, ownValue: unknown): PauseSetting {
  let result: PauseSetting | undefined;
  for (const value of published) {
    if (value === undefined) continue;
    const setting: PauseSetting =
      value === MALFORMED_PAUSE_VALUE
        ? { policy: "all", invalid: new InvalidPauseAfterUnitRefresh(undefined, "peer") }
        : parsePauseAfterUnitRefresh(value);
    if (result === undefined || moreCautious(setting, result)) result = setting;
  }
  return result ?? parsePauseAfterUnitRefresh(ownValue);
}

function moreCautious(candidate: PauseSetting, current: PauseSetting): boolean {
  if (current.invalid !== undefined) return false;
  if (candidate.invalid !== undefined) return true;
  return CAUTION[candidate.policy] > CAUTION[current.policy];
}

/** The value a Kubernetes unit published under `pause_after_unit_refresh_config`, for {@link effectivePauseAfterUnitRefresh}. */
export function publishedPauseValue(databag: DecodedDatabag<KubernetesUnitFields>): PublishedPauseValue {
  if (databag.invalid.has("pauseAfterUnitRefreshConfig")) return MALFORMED_PAUSE_VALUE;
  return databag.values.pauseAfterUnitRefreshConfig;
}

/**
 * One sentence telling the user how the refresh will pause under `setting`, for the
 * `pre-refresh-check` result.
 */
export function describePausePolicy(setting: PauseSetting): string {
  switch (setting.policy) {
    case "none":
      return "The refresh will not pause between units.";
    case "first":
      return "The refresh will pause after the first unit refreshes, for you to check it and run `resume-refresh`.";
    case "all":
      return "The refresh will pause after each unit refreshes, for you to check it and run `resume-refresh`.";
  }
}
