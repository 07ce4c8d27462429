import { describe, expect, it } from "vitest";
import { RefreshError } from "./errors.js";

describe("RefreshError", () => {
  it("keeps its code, resolution and cause, and names the subclass", () => {
    class Example extends RefreshError {}
    const cause = new Error("underlying");
    const error = new Example("EXAMPLE", "it broke", { cause, resolution: "run `juju resolve`" });
    expect(error.name).toBe("Example");
    expect(error.code).toBe("EXAMPLE");
    expect(error.resolution).toBe("run `juju resolve`");
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });
});
