import { describe, expect, it } from "vitest";
import {
  classifyHookToolFailure,
  HookToolFailed,
  HookToolOutputInvalid,
  InvalidHookEnvironment,
  JujuError,
  NotLeader,
  PermissionDenied,
  RelationNotFound,
  UnknownHookTool,
} from "./errors.js";

describe("classifyHookToolFailure", () => {
  // The stderr lines Juju agents print for the situations the refresh runs into.
  it.each([
    ["relation-get", 2, 'ERROR invalid value "peer:9" for flag -r: relation not found\n', RelationNotFound],
    ["relation-set", 2, "ERROR invalid value \"9\" for flag -r: unknown relation id\n", RelationNotFound],
    ["relation-set", 1, "ERROR cannot write relation settings\n", PermissionDenied],
    ["relation-get", 1, "ERROR permission denied\n", PermissionDenied],
    ["secret-get", 1, "ERROR access denied\n", PermissionDenied],
    ["status-set", 1, "ERROR this unit is not the leader\n", NotLeader],
    ["leader-set", 1, "ERROR cannot write leadership settings: cannot write settings: not the leader\n", NotLeader],
    ["relation-ids", 127, "sh: 1: relation-ids: command not found\n", UnknownHookTool],
    ["action-set", 1, "ERROR not running an action\n", HookToolFailed],
    ["status-set", 2, 'ERROR invalid status "sleeping", expected one of [maintenance blocked waiting active]\n', HookToolFailed],
  ])("%s exiting %i with %j is a %o", (tool, exitCode, stderr, expected) => {
    const error = classifyHookToolFailure(tool, exitCode, stderr);
    expect(error).toBeInstanceOf(expected);
    expect(error).toBeInstanceOf(JujuError);
    expect(error.tool).toBe(tool);
  });

  it("only reads 'relation not found' as a missing relation for tools that take -r", () => {
    expect(classifyHookToolFailure("config-get", 1, "ERROR relation not found")).toBeInstanceOf(HookToolFailed);
  });

  it("keeps the stderr without Juju's ERROR prefix and puts it in the message", () => {
    const error = classifyHookToolFailure("goal-state", 1, "ERROR connection is shut down\n");
    expect(error.stderr).toBe("connection is shut down");
    expect(error.exitCode).toBe(1);
    expect(error.code).toBe("HOOK_TOOL_FAILED");
    expect(error.message).toBe(
      "goal-state exited with code 1: connection is shut down; the hook fails and Juju will retry it, see juju debug-log for details",
    );
  });
});

describe("error shape", () => {
  it("gives every error a stable code, its own class name and, where known, a resolution", () => {
    const env = new InvalidHookEnvironment("JUJU_UNIT_NAME", "is not set");
    expect(env).toMatchObject({ name: "InvalidHookEnvironment", code: "INVALID_HOOK_ENVIRONMENT", variable: "JUJU_UNIT_NAME" });
    expect(env.resolution).toContain("JUJU_UNIT_NAME");
    expect(new UnknownHookTool("is-leader").resolution).toBeDefined();
  });

  it("shortens huge unexpected output in HookToolOutputInvalid", () => {
    const error = new HookToolOutputInvalid("config-get", "x".repeat(10_000), "not JSON");
    expect(error.output.length).toBeLessThanOrEqual(201);
    expect(error.message.length).toBeLessThan(600);
  });
});
