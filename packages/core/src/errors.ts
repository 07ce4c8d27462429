import { blocked, type Status } from "./status.js";

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

  /**
   * @param options `cause` and `resolution` may be given as `undefined` (as when a subclass
   *   passes on its own optional options): that is the same as leaving them out.
   */
  constructor(code: string, message: string, options: { cause?: unknown; resolution?: string | undefined } = {}) {
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

/** Whose databag a protocol value came from: a unit name (`app/2`) or the application's. */
export type DatabagSource = { readonly unit: string } | { readonly app: string };

function describeSource(source: DatabagSource): string {
  return "unit" in source ? `unit ${source.unit}` : `the application databag of ${source.app}`;
}

/**
 * A value in a peer-relation databag that does not match the protocol: malformed JSON or the
 * wrong shape. Decoders report it (they never throw it), so one unit writing garbage cannot
 * crash every other unit's hooks; the value is then treated as absent.
 */
export class InvalidDatabagContent extends RefreshError {
  /** Where the value was read. */
  readonly source: DatabagSource;
  /** The databag key, exactly as stored. */
  readonly key: string;
  /** What the protocol expects under this key, in words. */
  readonly expected: string;

  constructor(source: DatabagSource, key: string, expected: string, options: { cause?: unknown } = {}) {
    super(
      "INVALID_DATABAG_CONTENT",
      `${describeSource(source)} stored an invalid value under "${key}" in the refresh peer relation ` +
        `(expected ${expected}); it is ignored as if absent. This usually clears once that unit runs a ` +
        `charm revision that writes it correctly; check \`juju debug-log\` for errors of that unit`,
      { ...options, resolution: "check `juju debug-log` for the unit that wrote the value" },
    );
    this.source = source;
    this.key = key;
    this.expected = expected;
  }
}

/**
 * The versions the application ran before the current refresh (saved by the leader in the
 * peer relation's application databag) are missing or inconsistent. Without them the library
 * cannot tell a rollback from a refresh or check compatibility. It happens when the previous
 * charm revision did not use this refresh protocol (v3) at all.
 */
export class OriginalVersionsInvalid extends RefreshError {
  /** Each problem found, e.g. a missing key or the workload version contradicting the pin flag. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      "ORIGINAL_VERSIONS_INVALID",
      `the refresh failed and automatic recovery is not possible: the original versions in the ` +
        `refresh peer relation are missing or invalid (${problems.join("; ")}). This happens when the ` +
        `charm revision deployed before \`juju refresh\` did not use refresh protocol v3. Roll back with ` +
        `\`juju refresh\` to the revision that was deployed before, then contact the charm's developers`,
      { resolution: "roll back with `juju refresh --revision <previous revision>` and contact the charm developers" },
    );
    this.problems = problems;
  }
}

/**
 * A file under `.charm_refresh_v3/` that this unit wrote itself cannot be read back. Nothing
 * but the library writes there, so this means a manual edit or a disk problem.
 */
export class LocalStateInvalid extends RefreshError {
  /** The file, relative to the charm directory. */
  readonly path: string;

  constructor(path: string, expected: string, options: { cause?: unknown } = {}) {
    super(
      "LOCAL_STATE_INVALID",
      `the refresh state file ${path} is not ${expected}; it may have been edited by hand or damaged. ` +
        `Delete it (the library recreates it, assuming a fresh install) and run \`juju resolve\` on this unit`,
      { ...options, resolution: `delete ${path} on the unit, then run \`juju resolve\`` },
    );
    this.path = path;
  }
}

/**
 * Action parameters that do not match the action's schema (Juju validates them against
 * `charmcraft.yaml`, so this means the charm's action definitions drifted from the library's).
 */
export class InvalidActionParameters extends RefreshError {
  /** The action, e.g. `force-refresh-start`. */
  readonly action: string;
  /** The parameter at fault, when one is. */
  readonly parameter: string | undefined;

  constructor(action: string, parameter: string | undefined, problem: string) {
    const where = parameter === undefined ? "" : ` parameter "${parameter}"`;
    super(
      "INVALID_ACTION_PARAMETERS",
      `${action}${where}: ${problem}. See \`juju show-action <app> ${action}\` for the accepted parameters`,
      { resolution: `run \`juju show-action <app> ${action}\` and retry with valid parameters` },
    );
    this.action = action;
    this.parameter = parameter;
  }
}

/**
 * `pause-after-unit-refresh` is not exactly `all`, `first` or `none`. Not thrown: the refresh
 * goes on as if it were `all` (the most cautious), and `status` is what the application shows
 * so the user fixes it.
 */
export class InvalidPauseAfterUnitRefresh extends RefreshError {
  /** The value found (`undefined` when the option is missing or a peer's copy was unreadable). */
  readonly value: unknown;
  /** The blocked status that tells the user how to fix it. */
  readonly status: Status;

  /**
   * @param value the raw config value
   * @param origin `config` for this unit's `config-get`, `peer` for a copy published by a
   *   unit that could not be decoded
   */
  constructor(value: unknown, origin: "config" | "peer" = "config") {
    const fix = "run `juju config <app> pause-after-unit-refresh=first` (or all, or none)";
    const found =
      origin === "peer"
        ? "a unit published an unreadable copy of pause-after-unit-refresh"
        : value === undefined
          ? "the charm has no pause-after-unit-refresh config option (its charmcraft.yaml lacks it)"
          : `pause-after-unit-refresh is ${describeValue(value)}, not "all", "first" or "none"`;
    super("INVALID_PAUSE_AFTER_UNIT_REFRESH", `${found}; the refresh pauses after every unit until this is fixed: ${fix}`, {
      resolution: fix,
    });
    this.value = value;
    this.status = blocked('Invalid config: set pause-after-unit-refresh to "all", "first" or "none"');
  }
}

function describeValue(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** A charm's `charmcraft.yaml` cannot take the refresh entries (build-time error for charm authors). */
export class CharmcraftYamlInvalid extends RefreshError {
  constructor(problem: string) {
    super(
      "CHARMCRAFT_YAML_INVALID",
      `cannot add the refresh actions, config option and peer relation to charmcraft.yaml: ${problem}. ` +
        `Fix the file, then build again`,
    );
  }
}
