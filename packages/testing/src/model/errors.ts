import { RefreshError } from "@refresh/core";

/**
 * A mistake in how a test drives the simulator (unknown unit, invalid config value, a model
 * that never settles…). The message names the problem and what to change in the test.
 */
export class SimulatorError extends RefreshError {
  constructor(code: string, message: string, options: { cause?: unknown; resolution?: string } = {}) {
    super(code, `[@refresh/testing] ${message}`, options);
  }
}

/**
 * What a simulated hook tool raises when the real one would exit non-zero: the same exit code
 * and the same `ERROR …` text on stderr, so charm code can classify it the way it classifies
 * the real tool's failures.
 */
export class SimulatedHookToolError extends RefreshError {
  /** The tool that failed, e.g. `relation-set`. */
  readonly tool: string;
  /** The exit code the real tool would return: 2 for argument errors, 1 for run-time errors. */
  readonly exitCode: 1 | 2;
  /** What the real tool would print on stderr (without the `ERROR ` prefix). */
  readonly stderr: string;

  constructor(tool: string, exitCode: 1 | 2, stderr: string) {
    super("HOOK_TOOL_FAILED", `${tool} failed (exit ${exitCode}): ${stderr}`);
    this.tool = tool;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}
