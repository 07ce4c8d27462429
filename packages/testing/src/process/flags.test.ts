import { describe, expect, it } from "vitest";
import { TestingError } from "../errors.js";
import { type FlagSpec, UsageError, parseCommandLine, rejectExtraArgs } from "./flags.js";

const SPECS: FlagSpec[] = [
  { names: ["r", "relation"], kind: "value" },
  { names: ["app"], kind: "bool" },
];

function usageError(action: () => unknown): UsageError {
  try {
    action();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("usage errors", () => {
  it("keep gnuflag's wording and exit status 2, and carry a code saying which mistake it was", () => {
    const unknown = usageError(() => parseCommandLine(["-x"], SPECS));
    expect(unknown).toBeInstanceOf(TestingError);
    expect(unknown).toMatchObject({ code: "HOOK_TOOL_UNKNOWN_FLAG", exitCode: 2, message: "flag provided but not defined: -x" });
    expect(usageError(() => parseCommandLine(["--relation"], SPECS))).toMatchObject({ code: "HOOK_TOOL_FLAG_NEEDS_VALUE", message: "flag needs an argument: --relation" });
    expect(usageError(() => parseCommandLine(["--app=maybe"], SPECS))).toMatchObject({ code: "HOOK_TOOL_INVALID_FLAG_VALUE", exitCode: 2 });
    expect(usageError(() => rejectExtraArgs(["one", "two"]))).toMatchObject({ code: "HOOK_TOOL_UNEXPECTED_ARGS", exitCode: 2 });
  });
});
