import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateActionResultKeys } from "./action-results.js";
import { InvalidActionResultKey } from "./errors.js";

const alnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789");
const inner = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-");
/** A segment Juju accepts: alphanumeric at both ends, dashes allowed inside. */
const segment = fc.oneof(
  alnum,
  fc.tuple(alnum, fc.array(inner, { maxLength: 8 }), alnum).map(([a, mid, b]) => a + mid.join("") + b),
);
const reserved = new Set(["stdout", "stdout-encoding", "stderr", "stderr-encoding"]);
const validKey = fc.array(segment, { minLength: 1, maxLength: 4 }).filter((s) => !reserved.has(s[0] ?? "")).map((s) => s.join("."));

function rejection(keys: string[]): InvalidActionResultKey {
  try {
    validateActionResultKeys(keys);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidActionResultKey);
    return error as InvalidActionResultKey;
  }
  throw new Error(`expected ${JSON.stringify(keys)} to be rejected`);
}

describe("validateActionResultKeys", () => {
  it("accepts every key made of valid segments", () => {
    fc.assert(fc.property(validKey, (key) => validateActionResultKeys([key])));
  });

  it("rejects a key as soon as one segment has a character Juju refuses", () => {
    const bad = fc.constantFrom(..."ABZ_ $=/:\n");
    fc.assert(
      fc.property(validKey, bad, fc.nat(), (key, char, at) => {
        const position = at % (key.length + 1);
        const broken = key.slice(0, position) + char + key.slice(position);
        expect(rejection([broken]).key).toBe(broken);
      }),
    );
  });

  it.each(["-lead", "trail-", "a..b", ".a", "a.", "", "a.-b"])("rejects %j, naming the key", (key) => {
    const error = rejection(["fine", key]);
    expect(error.key).toBe(key);
    expect(error.code).toBe("INVALID_ACTION_RESULT_KEY");
    expect(error.message).toContain(JSON.stringify(key));
  });

  it("rejects the keys Juju fills in itself, also as a parent", () => {
    for (const key of ["stdout", "stderr", "stdout-encoding", "stderr-encoding", "stdout.x"]) {
      expect(rejection([key]).message).toContain("reserves");
    }
    expect(() => validateActionResultKeys(["my-stdout", "result.stdout"])).not.toThrow();
  });

  it("rejects a key that is both a value and a parent", () => {
    expect(rejection(["versions.charm", "versions"]).key).toBe("versions");
    expect(rejection(["a", "a.b.c"]).key).toBe("a");
    expect(() => validateActionResultKeys(["a.b", "a.c", "ab"])).not.toThrow();
  });
});
