/**
 * The pure decisions of the machines refresh: which units count as up to date, whether a
 * refresh is in progress, which unit goes next, and whether it needs the user's go-ahead.
 * Everything here is a function of the peer view one unit has in one event, so it can be
 * tested table by table without Juju or snapd.
 */

import type { CharmCodeRefresh, PauseSetting } from "@refresh/core";

/** What one unit publishes in its databag, decoded (absent or invalid keys are undefined). */
export interface PublishedUnitState {
  readonly installedSnapRevision: string | undefined;
  readonly nextUnitAllowedToRefresh: boolean;
  readonly refreshStarted: boolean;
  readonly lastRefreshToUpToDateCharmCode: CharmCodeRefresh | undefined;
  /** The refresh order this unit uses, when it published one (this library only). */
  readonly refreshOrder: readonly string[] | undefined;
}

/** A unit as this unit sees it. */
export interface PeerUnit {
  readonly name: string;
  readonly published: PublishedUnitState;
}

/** Three-valued answers: definitely yes, definitely no, cannot tell yet. */
export type Tristate = "TRUE" | "FALSE" | "UNKNOWN";

/** What this unit knows about itself that freshness verdicts depend on. */
export interface FreshnessBasis {
  /** This unit's name. */
  readonly self: string;
  /** This unit's raw charm revision (`.juju-charm`). */
  readonly rawCharmRevision: string;
  /** This unit's second-to-last confirmed charm-code refresh (none on a fresh install or a new unit). */
  readonly secondToLastRefresh: CharmCodeRefresh | undefined;
}

/** The number after the `/` of a unit name. */
export function unitNumber(unit: string): number {
  return Number(unit.slice(unit.lastIndexOf("/") + 1));
}

/**
 * Whether `unit`'s databag reflects the charm code it runs now. TRUE for this unit itself;
 * FALSE if it published another charm revision, or its latest confirmed refresh is not newer
 * than this unit's previous one; UNKNOWN when this unit has no previous refresh to compare with.
 */
export function freshness(unit: PeerUnit, basis: FreshnessBasis): Tristate {
  if (unit.name === basis.self) return "TRUE";
  const latest = unit.published.lastRefreshToUpToDateCharmCode;
  if (latest === undefined || latest.charmRevision !== basis.rawCharmRevision) return "FALSE";
  if (basis.secondToLastRefresh === undefined) return "UNKNOWN";
  return basis.secondToLastRefresh.timeOfRefresh < latest.timeOfRefresh ? "TRUE" : "FALSE";
}

/** {@link freshness} with UNKNOWN trusted. */
export function isFresh(unit: PeerUnit, basis: FreshnessBasis): boolean {
  return freshness(unit, basis) !== "FALSE";
}

/**
 * Whether a refresh is in progress: TRUE as soon as some unit publishes a revision other
 * than `pinnedRevision`; UNKNOWN when every published revision matches but some databag is
 * stale; FALSE otherwise. Units that publish no revision (never installed) are skipped.
 */
export function determineInProgress(units: readonly PeerUnit[], pinnedRevision: string, basis: FreshnessBasis): Tristate {
  let unknown = false;
  for (const unit of units) {
    const revision = unit.published.installedSnapRevision;
    if (revision === undefined) continue;
    if (revision !== pinnedRevision) return "TRUE";
    if (!isFresh(unit, basis)) unknown = true;
  }
  return unknown ? "UNKNOWN" : "FALSE";
}

/** The default refresh order: highest unit number first (units added by scale-up go first). */
export function defaultRefreshOrder(units: readonly string[]): string[] {
  return [...units].sort((a, b) => unitNumber(b) - unitNumber(a));
}

/**
 * The order to use now, given an order fixed at the start of the refresh: units that joined
 * since go first (highest number first, as they have no snap yet), units that left are dropped.
 */
export function applyFixedOrder(fixed: readonly string[], present: readonly string[]): string[] {
  const presentSet = new Set(present);
  const fixedSet = new Set(fixed);
  const newcomers = defaultRefreshOrder(present.filter((unit) => !fixedSet.has(unit)));
  return [...newcomers, ...fixed.filter((unit) => presentSet.has(unit))];
}

/**
 * Checks that a charm-supplied order is a permutation of the units; returns the problem, or
 * undefined when it is one.
 */
export function refreshOrderProblem(order: readonly string[], units: readonly string[]): string | undefined {
  const wanted = new Set(units);
  const seen = new Set<string>();
  for (const unit of order) {
    if (!wanted.has(unit)) return `it names ${unit}, which is not in the peer relation`;
    if (seen.has(unit)) return `it names ${unit} twice`;
    seen.add(unit);
  }
  const missing = units.filter((unit) => !seen.has(unit));
  return missing.length === 0 ? undefined : `it leaves out ${missing.join(", ")}`;
}

/** Whether `unit` runs `pinnedRevision` by a databag that is not stale: refreshed, as far as this unit can tell. */
export function isUpToDate(unit: PeerUnit, pinnedRevision: string, basis: FreshnessBasis): boolean {
  return unit.published.installedSnapRevision === pinnedRevision && isFresh(unit, basis);
}

/** The first unit in `order` that is not on `pinnedRevision` or whose databag is stale. */
export function nextUnitToRefresh(order: readonly PeerUnit[], pinnedRevision: string, basis: FreshnessBasis): PeerUnit | undefined {
  return order.find((unit) => !isUpToDate(unit, pinnedRevision, basis));
}

/**
 * The first unit before `index` in `order` that is not refreshed and healthy (revision ==
 * pinned, fresh databag, next-unit flag set), or undefined when all of them are.
 */
export function firstUnhealthyBefore(order: readonly PeerUnit[], index: number, pinnedRevision: string, basis: FreshnessBasis): PeerUnit | undefined {
  return order.slice(0, index).find((unit) => !unit.published.nextUnitAllowedToRefresh || !isUpToDate(unit, pinnedRevision, basis));
}

/** Whether the unit at `index` of the order may refresh only after `resume-refresh`. */
export function resumeRequired(pause: PauseSetting, index: number): boolean {
  if (index === 0) return false;
  // An invalid value gates like `all` (core's parser already maps it to that policy).
  if (pause.policy === "all") return true;
  return pause.policy === "first" && index === 1;
}
