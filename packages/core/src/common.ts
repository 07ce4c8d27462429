import type { Status } from "./status.js";

/**
 * What one unit looks like to the refresh, as seen from the unit running the hook.
 * Built from peers' databags (untrusted, possibly stale) and the substrate's own facts.
 */
export interface UnitRefreshState {
  /** Juju unit name, e.g. `postgresql-k8s/2`. */
  readonly name: string;
  /** Charm revision the unit runs, when known (Charmhub revision or the raw `.juju-charm` text). */
  readonly charmRevision: string | undefined;
  /** Workload version the unit runs, when known. */
  readonly workloadVersion: string | undefined;
  /** The unit already runs what the refresh is heading to. */
  readonly upToDate: boolean;
  /** The unit reported itself healthy on its current version (`nextUnitAllowedToRefresh`). */
  readonly healthy: boolean;
}

/**
 * A read-only picture of the refresh for charms and tooling (for example to show progress
 * or decide which unit to act on). Units are listed in refresh order, first to refresh first.
 */
export interface RefreshSummary {
  readonly inProgress: boolean;
  readonly units: readonly UnitRefreshState[];
  /** The unit the user should act on next (`resume-refresh`), or the next to refresh. */
  readonly nextUnit: string | undefined;
}

/**
 * The interface both substrates (`Kubernetes`, `Machines`) implement, so a charm with a
 * Kubernetes and a machines variant can share the code that uses it.
 *
 * A substrate object is built once per Juju event, as early as possible; all the refresh work
 * of that event happens while it is built. The members below then report what it found.
 */
export interface Common {
  /**
   * A refresh is in progress (on machines also while the library cannot tell yet). Guard
   * dangerous or non-essential operations (backups, password rotation) with it; keep the
   * ones that keep the application available (scaling, address changes).
   */
  readonly inProgress: boolean;

  /**
   * This unit has declared itself healthy on its current version, so the next unit may
   * refresh (subject to `pause-after-unit-refresh` and `resume-refresh`). Read it only to
   * decide whether the post-refresh health step still needs to run.
   */
  readonly nextUnitAllowedToRefresh: boolean;

  /**
   * Declares this unit healthy on its current version: call it after starting the workload
   * and checking the health of the unit and the application. It can only be set, never
   * unset: the library resets it when the unit's version changes.
   */
  allowNextUnitToRefresh(): Promise<void>;

  /** Whether this unit may start its workload. Never start it when this is false. */
  readonly workloadAllowedToStart: boolean;

  /** An app status that beats every status of the charm's own, or undefined. Leader only. */
  readonly appStatusHigherPriority: Status | undefined;

  /** A unit status that beats every status of the charm's own, or undefined. */
  readonly unitStatusHigherPriority: Status | undefined;

  /**
   * A unit status to show only when the charm has no unit status message of its own
   * (workload version, charm revision, "restart pending"), or undefined.
   */
  unitStatusLowerPriority(options?: { workloadIsRunning?: boolean }): Status | undefined;

  /** Which units are on which versions, which are healthy, which is next. */
  readonly summary: RefreshSummary;
}
