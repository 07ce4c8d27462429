/**
 * Every error this library throws on purpose. `code` is stable across releases, so charms
 * and tooling can branch on it; `message` says what happened and what to do next;
 * `resolution`, when present, is the command or step that fixes it.
 */
export class RefreshError extends Error {
  /** Stable identifier of this kind of error, e.g. `PEER_RELATION_NOT_READY`. */
  readonly code: string;
  /** What the user (or charm author) should do, when that is known. */
  readonly resolution: string | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; resolution?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.resolution = options.resolution;
  }
}

/**
 * The peer relation the refresh coordinates through is not there yet (initial deployment,
 * or a unit added by scale-up; on machines also while planned units have not joined it).
 * A refresh may be in progress: the charm must not install or start the workload, nor run
 * anything dangerous, and should exit the hook with a "waiting for peer relation" status.
 */
export class PeerRelationNotReady extends RefreshError {
  constructor(detail = "the refresh peer relation is not ready yet") {
    super(
      "PEER_RELATION_NOT_READY",
      `${detail}; do not install or start the workload yet, Juju will run this unit's hooks again once it is ready`,
      { resolution: "wait: no action is needed, the next hook retries" },
    );
  }
}

/**
 * This unit is being removed (scale-down or application removal). It stays true for every
 * later event of this unit: the charm should stop its workload cleanly and exit the hook.
 */
export class UnitTearingDown extends RefreshError {
  constructor() {
    super("UNIT_TEARING_DOWN", "this unit is being removed; stop the workload gracefully and exit the hook");
  }
}

/**
 * Thrown by a charm's pre-refresh check when the application is not healthy or not ready
 * to refresh. The message is shown in `juju status`, in action output and in logs: keep it
 * short (64 characters or fewer), and do not mention rollback: the library adds that.
 */
export class PrecheckFailed extends RefreshError {
  constructor(message: string) {
    if (message.trim() === "") {
      throw new TypeError("PrecheckFailed needs a message that tells the user what is wrong");
    }
    super("PRECHECK_FAILED", message);
  }
}
