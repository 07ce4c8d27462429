import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pythonFloat, pythonFloatRepr, toPythonJson } from "./pythonJson.js";

describe("toPythonJson", () => {
  it("writes objects with Python's separators and floats with a fraction", () => {
    expect(toPythonJson({ charm_revision: "ch:amd64/noble/app-602", time_of_refresh: pythonFloat(1795303552.7289605) })).toBe(
      '{"charm_revision": "ch:amd64/noble/app-602", "time_of_refresh": 1795303552.7289605}',
    );
    expect(toPythonJson({ a: pythonFloat(1727768259) })).toBe('{"a": 1727768259.0}');
  });

  it("escapes non-ASCII and control characters like ensure_ascii", () => {
    expect(toPythonJson("café\n\"x\"")).toBe('"caf\\u00e9\\n\\"x\\""');
    expect(toPythonJson(["a", true, null])).toBe('["a", true, null]');
  });

  it("formats floats like Python's repr at the notation boundaries", () => {
    expect(pythonFloatRepr(1e16)).toBe("1e+16");
    expect(pythonFloatRepr(1.5e16)).toBe("1.5e+16");
    expect(pythonFloatRepr(1234567890123456.8)).toBe("1234567890123456.8");
    expect(pythonFloatRepr(0.0001)).toBe("0.0001");
    expect(pythonFloatRepr(0.00001)).toBe("1e-05");
    expect(pythonFloatRepr(-2.5)).toBe("-2.5");
    expect(pythonFloatRepr(100)).toBe("100.0");
  });

  it("round-trips every finite float through JSON.parse", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(JSON.parse(pythonFloatRepr(value))).toBe(value);
      }),
    );
  });

  it("decodes to what JSON.parse would read from JSON.stringify", () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (text, flag) => {
        const value = { text, flag, list: [text] };
        expect(JSON.parse(toPythonJson(value))).toEqual(value);
      }),
    );
  });
});
