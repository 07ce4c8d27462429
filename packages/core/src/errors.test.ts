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

  it("takes an explicit undefined cause and resolution as absent", () => {
    const passedOn: { cause?: unknown; resolution?: string | undefined } = { cause: undefined, resolution: undefined };
    const error = new RefreshError("EXAMPLE", "it broke", passedOn);
    expect(error.resolution).toBeUndefined();
    // No own `cause` at all, so Node's inspection does not print "[cause]: undefined".
    expect(Object.hasOwn(error, "cause")).toBe(false);
  });
});
