/** The four statuses a charm may set on a unit or application (Juju's `status-set` kinds). */
export type StatusKind = "active" | "waiting" | "maintenance" | "blocked";

/**
 * A status the library hands back to the charm. The library never sets statuses itself:
 * the charm composes them (see `Common`), so it stays in control of what `juju status` shows.
 */
export interface Status {
  readonly kind: StatusKind;
  readonly message: string;
}

/** Builds a {@link Status}; a tiny helper that keeps call sites readable. */
export function status(kind: StatusKind, message: string): Status {
  return { kind, message };
}

/**
 * `juju status` cuts status messages after this many characters: every message the library
 * builds must fit, with 2-digit unit numbers and 5-digit revisions.
 */
export const JUJU_STATUS_MESSAGE_LIMIT = 120;

/** An `active` status: the workload runs as it should. */
export function active(message = ""): Status {
  return status("active", message);
}

/** A `waiting` status: waiting for something outside this unit (a peer, another unit, Juju). */
export function waiting(message: string): Status {
  return status("waiting", message);
}

/** A `maintenance` status: this unit (or the application) is busy with an operation that will end by itself. */
export function maintenance(message: string): Status {
  return status("maintenance", message);
}

/** A `blocked` status: the user has to act; the message must say how. */
export function blocked(message: string): Status {
  return status("blocked", message);
}

// Juju shows the most severe status of an application's units; charms pick their own unit
// status the same way.
const SEVERITY: Readonly<Record<StatusKind, number>> = { active: 0, waiting: 1, maintenance: 2, blocked: 3 };

/**
 * The unit status a charm should set at the end of an event, following the library's rules:
 * a higher-priority status from the library always wins; otherwise the most severe of the
 * charm's own statuses (blocked > maintenance > waiting > active); and when that one has no
 * message, the library's lower-priority status (workload and charm versions) if there is one.
 */
export function composeUnitStatus(parts: {
  readonly higherPriority: Status | undefined;
  readonly charmStatuses: readonly Status[];
  readonly lowerPriority: Status | undefined;
}): Status {
  if (parts.higherPriority !== undefined) return parts.higherPriority;
  let chosen: Status = active();
  for (const candidate of parts.charmStatuses) {
    if (SEVERITY[candidate.kind] > SEVERITY[chosen.kind] || (candidate.kind === chosen.kind && chosen.message === "")) {
      chosen = candidate;
    }
  }
  if (chosen.message === "" && parts.lowerPriority !== undefined) return parts.lowerPriority;
  return chosen;
}

/**
 * The app status a charm should set at the end of an event (leader only): the library's
 * higher-priority status when there is one, otherwise the most severe of the charm's own.
 */
export function composeAppStatus(parts: {
  readonly higherPriority: Status | undefined;
  readonly charmStatuses: readonly Status[];
}): Status {
  return composeUnitStatus({ ...parts, lowerPriority: undefined });
}

/**
 * The statuses to show while `PeerRelationNotReady` is raised: the refresh cannot tell yet
 * whether it may start the workload, so the unit waits (and the application, if leader).
 */
export const PEER_RELATION_NOT_READY_STATUS: Status = maintenance("Waiting for the refresh peer relation");
