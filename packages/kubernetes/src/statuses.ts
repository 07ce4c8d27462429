import { status, type Status } from "@refresh/core";
import type { RolloutAppStatusKind } from "./decisions.js";

/**
 * The statuses the Kubernetes refresh shows, worded in one place. Juju truncates status
 * messages at 120 characters, so the important words come first.
 */

/** App status while the application is not trusted (leader only). */
export function notTrustedAppStatus(appName: string): Status {
  return status("blocked", `Run \`juju trust ${appName} --scope=cluster\`: in-place refreshes need it`);
}

/** App status while a refresh is in progress; `partition` is the StatefulSet's current partition. */
export function rolloutAppStatus(kind: RolloutAppStatusKind, partition: number, appName: string): Status {
  switch (kind) {
    case "refreshing-last":
      return status("maintenance", "Refreshing. To roll back, see the refresh docs or `juju debug-log`");
    case "paused":
      return status(
        "blocked",
        `Refreshing. Check units >=${partition} are healthy, then run resume-refresh on the leader. To roll back, see \`juju debug-log\``,
      );
    case "refreshing":
      return status("maintenance", `Refreshing. To pause, run \`juju config ${appName} pause-after-unit-refresh=all\``);
  }
}

/** Unit status of the highest unit when its image is not the one the charm pins. */
export function wrongContainerUnitStatus(): Status {
  return status("blocked", "`juju refresh` used a missing or wrong OCI resource. To roll back, see the refresh docs or `juju debug-log`");
}

/** Unit status of the highest unit when the refresh is not compatible. */
export function incompatibleUnitStatus(): Status {
  return status("blocked", "Refresh incompatible. To roll back, see the refresh docs or `juju debug-log`");
}

/** Unit status of the highest unit when a pre-refresh check failed; the check's message comes last. */
export function precheckFailedUnitStatus(message: string): Status {
  return status("blocked", `Roll back with \`juju refresh\`. Pre-refresh check failed: ${message}`);
}

/** Inputs of {@link lowerPriorityUnitStatus}. */
export interface LowerPriorityInputs {
  readonly workloadName: string;
  /** Workload version the charm pins (`refresh_versions.toml`). */
  readonly pinnedWorkloadVersion: string;
  /** The image digest this unit runs, or undefined when not known yet. */
  readonly installedDigest: string | undefined;
  readonly pinnedDigest: string;
  /** Charmhub revision of the installed charm, or undefined for a local charm. */
  readonly charmhubRevision: string | undefined;
  readonly charmVersion: string;
  /** This unit's pod is not on the application's current revision yet. */
  readonly restartPending: boolean;
  readonly workloadIsRunning: boolean;
}

/**
 * The informational unit status shown during a refresh when the charm has nothing of its own
 * to say, e.g. `PostgreSQL 16.8 running (restart pending); Charm revision 602`.
 */
export function lowerPriorityUnitStatus(inputs: LowerPriorityInputs): Status {
  const matchesPin = inputs.installedDigest === inputs.pinnedDigest;
  let message = matchesPin ? `${inputs.workloadName} ${inputs.pinnedWorkloadVersion}` : inputs.workloadName;
  if (inputs.workloadIsRunning) {
    message += " running";
    if (inputs.restartPending) message += " (restart pending)";
  }
  message += inputs.charmhubRevision === undefined ? `; Charm version ${inputs.charmVersion}` : `; Charm revision ${inputs.charmhubRevision}`;
  if (!matchesPin) {
    message +=
      inputs.installedDigest === undefined
        ? "; Unable to check container"
        : `; Unexpected container ${inputs.installedDigest.replace(/^sha256:/, "").slice(0, 6)}`;
  }
  // Placed last when stopped, so it does not read as if the workload were running.
  if (!inputs.workloadIsRunning && inputs.restartPending) message += " (restart pending)";
  return status(inputs.workloadIsRunning ? "active" : "waiting", message);
}
