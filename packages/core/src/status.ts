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
