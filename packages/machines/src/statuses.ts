import { status, type PauseSetting, type Status } from "@refresh/core";
import { resumeRequired, unitNumber, type Tristate } from "./decisions.js";

/**
 * The command that rolls the application back to `charmhubRevision`. Local charms have no
 * revision to name, so the user is told to refresh to the original charm file instead.
 */
export function rollbackCommand(charmhubRevision: string | undefined, appName?: string): string {
  const app = appName === undefined ? "" : ` ${appName}`;
  return charmhubRevision === undefined ? `juju refresh${app} --path <original charm file>` : `juju refresh${app} --revision ${charmhubRevision}`;
}

/** What the leader knows when it decides the application status. */
export interface AppStatusInput {
  readonly appName: string;
  /** `pause-after-unit-refresh` as core parsed it. */
  readonly pause: PauseSetting;
  readonly state: Tristate;
  /** Charmhub revision of the original charm (the rollback target); undefined for a local charm. */
  readonly originalCharmhubRevision: string | undefined;
  /** The refresh is TRUE, has not started in the leader's view, and the versions are incompatible. */
  readonly incompatible: boolean;
  /** The refresh order, first to refresh first. */
  readonly order: readonly string[];
  /** The unit to refresh next, when the state is TRUE. */
  readonly nextUnit: string | undefined;
  /** The order is the default one (highest unit number first), so "units >= N" describes the refreshed ones. */
  readonly defaultOrder: boolean;
}

/**
 * The application status the refresh needs to show, or undefined when the charm's own
 * status should be shown. First match wins: invalid pause config, no refresh, unknown,
 * incompatible, single unit, pause, no pause.
 */
export function appStatus(input: AppStatusInput): Status | undefined {
  if (input.pause.invalid !== undefined) return input.pause.invalid.status;
  if (input.state === "FALSE") return undefined;
  if (input.state === "UNKNOWN") return status("maintenance", "Determining whether a refresh is in progress");
  const rollback = rollbackCommand(input.originalCharmhubRevision);
  if (input.incompatible) {
    return status("blocked", `Refresh incompatible. To roll back: ${rollback}. To force it: see juju debug-log`);
  }
  if (input.order.length === 1) return status("maintenance", `Refreshing. To roll back: ${rollback}`);
  const index = input.nextUnit === undefined ? -1 : input.order.indexOf(input.nextUnit);
  if (index <= 0) {
    // The first unit refreshes without the user's go-ahead; if its checks fail, its own unit
    // status says why, so point there rather than at resume-refresh (which would fail).
    const first = input.nextUnit ?? input.order[0] ?? "";
    return status("maintenance", `Refreshing unit ${unitNumber(first)} first (see its status). To roll back: ${rollback}`);
  }
  if (resumeRequired(input.pause, index)) {
    const next = unitNumber(input.nextUnit ?? "");
    const previous = input.order[index - 1] ?? "";
    const refreshed = input.defaultOrder ? `units >= ${unitNumber(previous)}` : "prior units";
    return status("blocked", `Refreshing. Verify ${refreshed} are healthy, then run resume-refresh on unit ${next}. Roll back: ${rollback}`);
  }
  return status("maintenance", `Refreshing. To pause: juju config ${input.appName} pause-after-unit-refresh=all`);
}

/** The unit status of a unit whose charm code changed without an event confirming it is the latest. */
export const WAITING_FOR_CONFIRMING_EVENT: Status = status(
  "maintenance",
  "Waiting for an upgrade-charm or config-changed event; see juju debug-log",
);

/** What a unit knows when it describes itself in its lower-priority status. */
export interface UnitStatusInput {
  readonly workloadName: string;
  /** From the local workload-version file; undefined when unknown. */
  readonly installedWorkloadVersion: string | undefined;
  readonly workloadIsRunning: boolean;
  readonly installedSnapRevision: string | null;
  readonly pinnedSnapRevision: string;
  readonly charmhubRevision: string | undefined;
  readonly charmVersion: string;
}

/**
 * The unit status shown when the charm has nothing more specific to say during a refresh:
 * workload (version, running), snap revision (outdated when not the pinned one) and charm.
 */
export function lowerPriorityUnitStatus(input: UnitStatusInput): Status {
  const workload = `${input.workloadName}${input.installedWorkloadVersion === undefined ? "" : ` ${input.installedWorkloadVersion}`}${
    input.workloadIsRunning ? " running" : ""
  }`;
  const snap =
    input.installedSnapRevision === null
      ? "Snap not installed"
      : `Snap revision ${input.installedSnapRevision}${input.installedSnapRevision === input.pinnedSnapRevision ? "" : " (outdated)"}`;
  const charm = input.charmhubRevision === undefined ? `Charm version ${input.charmVersion}` : `Charm revision ${input.charmhubRevision}`;
  return status(input.workloadIsRunning ? "active" : "waiting", `${workload}; ${snap}; ${charm}`);
}

/** The unit status of the first unit while its automatic pre-refresh check fails. */
export function precheckFailedStatus(message: string): Status {
  return status("blocked", `Pre-refresh check failed: ${message}. Roll back with juju refresh`);
}
