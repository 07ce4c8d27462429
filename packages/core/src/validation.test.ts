import * as z from "zod/mini";
import { describe, expect, test } from "vitest";
import { InvalidDependencyModel, parseDependencyModel } from "./versions/dependencyModel.js";
import { englishIssues } from "./validation.js";

describe("englishIssues", () => {
  test("built-in issues name what was expected and what was found", () => {
    const result = z.safeParse(z.object({ name: z.string() }), { name: 7 }, englishIssues);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("Invalid input: expected string, received number");
  });

  test("leaves zod's global configuration alone, so a charm's own schemas are not changed", () => {
    const result = z.safeParse(z.string(), 7);
    expect(result.error?.issues[0]?.message).toBe("Invalid input");
  });

  test("reaches the user through the library's own errors", () => {
    let caught: unknown;
    try {
      parseDependencyModel({ name: "db", version: 3, upgrade_supported: ">=1", dependencies: {} }, "the workload declaration");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidDependencyModel);
    expect((caught as InvalidDependencyModel).problems).toEqual(["version: Invalid input: expected string, received number"]);
  });
});
