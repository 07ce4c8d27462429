/**
 * Errors of the Juju binding. `@refresh/juju` depends on nothing of ours, so these do not
 * extend `RefreshError` from `@refresh/core`; they have the same shape (`code`, a message
 * that says what to do next, `resolution`, `cause`) so callers can treat both alike.
 */

/** Base of every error this package throws on purpose. */
export class JujuError extends Error {
  /** Stable identifier of this kind of error, e.g. `RELATION_NOT_FOUND`. */
  readonly code: string;
  /** The step that fixes it, when one is known. */
  readonly resolution: string | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; resolution?: string | undefined } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.resolution = options.resolution;
  }
}

/**
 * A `JUJU_*` variable the charm needs is missing or malformed. Juju always sets these, so
 * this means the charm was started some other way (by hand, or by a test harness that
 * forgot a variable).
 */
export class InvalidHookEnvironment extends JujuError {
  /** The environment variable at fault, e.g. `JUJU_UNIT_NAME`. */
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(
      "INVALID_HOOK_ENVIRONMENT",
      `${variable} ${problem}; the charm must be started by Juju through its dispatch script, which sets the JUJU_* environment`,
      { resolution: `start the charm from dispatch under a Juju unit agent, or set ${variable} in the test environment` },
    );
    this.variable = variable;
  }
}

/** Common shape of errors raised because a hook tool did not do what was asked. */
export class HookToolError extends JujuError {
  /** The hook tool, e.g. `relation-get`. */
  readonly tool: string;
  /** Its exit code (`undefined` when it never ran or was killed by a signal). */
  readonly exitCode: number | undefined;
  /** What it wrote to stderr, without Juju's `ERROR ` prefix. */
  readonly stderr: string;

  constructor(
    code: string,
    message: string,
    details: { tool: string; exitCode?: number | undefined; stderr?: string; cause?: unknown; resolution?: string },
  ) {
    super(code, message, { cause: details.cause, resolution: details.resolution });
    this.tool = details.tool;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr ?? "";
  }
}

/**
 * The relation is not in this unit's hook context: it was removed, or this unit has not
 * joined it yet. Juju answers `relation not found` (older agents: `unknown relation id`).
 */
export class RelationNotFound extends HookToolError {
  constructor(tool: string, exitCode: number | undefined, stderr: string) {
    super(
      "RELATION_NOT_FOUND",
      `${tool}: the relation is not in this unit's hook context (removed, or not joined yet); read relation-ids again and skip relations that are gone: ${stderr}`,
      { tool, exitCode, stderr, resolution: "no action needed: Juju runs a relation hook once the relation exists" },
    );
  }
}

/**
 * Juju refused the read or write: a non-leader writing the application databag, or a
 * non-leader reading its own application's databag of a non-peer relation.
 */
export class PermissionDenied extends HookToolError {
  constructor(tool: string, exitCode: number | undefined, stderr: string) {
    super(
      "PERMISSION_DENIED",
      `${tool}: Juju refused access (application databags are writable only by the leader, and readable by other units only on peer relations); check leadership before this call: ${stderr}`,
      { tool, exitCode, stderr },
    );
  }
}

/**
 * The call needs leadership and this unit does not hold it (it may have just lost it).
 * The charm should skip leader-only work; the new leader's hooks will do it.
 */
export class NotLeader extends HookToolError {
  constructor(tool: string, exitCode: number | undefined, stderr: string) {
    super(
      "NOT_LEADER",
      `${tool}: this unit is not the leader (leadership may have just moved to another unit); skip leader-only work, the leader's next hook will do it: ${stderr}`,
      { tool, exitCode, stderr },
    );
  }
}

/** The hook tool binary is not on `PATH`: the charm is not running under a Juju agent. */
export class UnknownHookTool extends HookToolError {
  constructor(tool: string, cause?: unknown) {
    super(
      "UNKNOWN_HOOK_TOOL",
      `hook tool "${tool}" was not found on PATH; the charm must run under a Juju unit agent (which puts its hook tools on PATH), or a test must put fake tools there`,
      {
        tool,
        cause,
        resolution: "run the charm through its dispatch script under Juju; check the Juju version supports this tool",
      },
    );
  }
}

/** A hook tool failed for a reason not classified more precisely. The hook will fail and Juju retries it. */
export class HookToolFailed extends HookToolError {
  constructor(tool: string, exitCode: number | undefined, stderr: string, cause?: unknown) {
    const how = exitCode === undefined ? "could not run" : `exited with code ${exitCode}`;
    super(
      "HOOK_TOOL_FAILED",
      `${tool} ${how}${stderr === "" ? "" : `: ${stderr}`}; the hook fails and Juju will retry it, see juju debug-log for details`,
      { tool, exitCode, stderr, cause },
    );
  }
}

/** A hook tool succeeded but printed something that is not the JSON this package expects. */
export class HookToolOutputInvalid extends HookToolError {
  /** The start of the unexpected output, to diagnose agent or simulator bugs. */
  readonly output: string;

  constructor(tool: string, output: string, problem: string, cause?: unknown) {
    const shown = output.length > 200 ? `${output.slice(0, 200)}…` : output;
    super(
      "HOOK_TOOL_OUTPUT_INVALID",
      `${tool} printed output this library cannot read (${problem}): ${JSON.stringify(shown)}; this is a bug in the Juju agent or in the test double standing in for it, report it with the Juju version`,
      { tool, exitCode: 0, cause },
    );
    this.output = shown;
  }
}

/**
 * An `action-set` key Juju would reject (or silently mangle); caught before spawning so the
 * charm author sees which key and why.
 */
export class InvalidActionResultKey extends JujuError {
  /** The offending key as given. */
  readonly key: string;

  constructor(key: string, problem: string) {
    super(
      "INVALID_ACTION_RESULT_KEY",
      `action result key ${JSON.stringify(key)} ${problem}; use lowercase letters, digits and dashes, starting and ending with a letter or digit, with dots to nest`,
    );
    this.key = key;
  }
}

/** Tools whose failures can mean the `-r` relation is gone (as ops classifies them). */
const RELATION_TOOLS = new Set(["relation-get", "relation-set", "relation-list", "relation-ids", "network-get"]);

/**
 * Turns a failed hook tool's exit code and stderr into the most precise error, the way Juju's
 * messages allow. Exported so test doubles of `HookTools` raise exactly what the real
 * implementation raises.
 */
export function classifyHookToolFailure(tool: string, exitCode: number | undefined, rawStderr: string): HookToolError {
  const stderr = stripJujuPrefix(rawStderr);
  const lower = stderr.toLowerCase();
  if (RELATION_TOOLS.has(tool) && (lower.includes("relation not found") || lower.includes("unknown relation id"))) {
    return new RelationNotFound(tool, exitCode, stderr);
  }
  // Before the permission check: "cannot write leadership settings: ... not the leader" is a leadership problem.
  if (lower.includes("not the leader")) {
    return new NotLeader(tool, exitCode, stderr);
  }
  if (lower.includes("permission denied") || lower.includes("access denied") || lower.includes("cannot write relation settings")) {
    return new PermissionDenied(tool, exitCode, stderr);
  }
  // A wrapper script (or `env`) that cannot find the tool reports it this way rather than ENOENT.
  if (exitCode === 127 || lower.includes("command not found")) {
    return new UnknownHookTool(tool);
  }
  return new HookToolFailed(tool, exitCode, stderr);
}

/** Juju's `cmd.Main` prints `ERROR <message>`; the prefix adds nothing to our messages. */
function stripJujuPrefix(stderr: string): string {
  return stderr
    .trim()
    .split("\n")
    .map((line) => line.replace(/^ERROR /, ""))
    .join("\n");
}
