import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeJson, encodePythonJson, encodePythonJsonString, formatPythonFloat, type JsonValue } from "./python-json.js";

// Each pair is [value, what CPython 3.12's json.dumps(value) printed for it].
const PYTHON_FLOATS: readonly (readonly [number, string])[] = [
  [1795303552.7289605, "1795303552.7289605"],
  [1727768259.0, "1727768259.0"],
  [0.0, "0.0"],
  [-0.0, "-0.0"],
  [1e16, "1e+16"],
  [1e15, "1000000000000000.0"],
  [9999999999999998.0, "9999999999999998.0"],
  [1.5e16, "1.5e+16"],
  [0.0001, "0.0001"],
  [1e-5, "1e-05"],
  [0.0001234, "0.0001234"],
  [0.1, "0.1"],
  [1.0, "1.0"],
  [-2.5, "-2.5"],
  [5e-324, "5e-324"],
  [1.7976931348623157e308, "1.7976931348623157e+308"],
  [1.2345678901234568e17, "1.2345678901234568e+17"],
  [1e22, "1e+22"],
  [1e21, "1e+21"],
  [100.0, "100.0"],
  [0.30000000000000004, "0.30000000000000004"],
  [1e-7, "1e-07"],
  [-1.234e-9, "-1.234e-09"],
];

describe("formatPythonFloat", () => {
  it.each(PYTHON_FLOATS)("prints %s as Python does", (value, python) => {
    expect(formatPythonFloat(value)).toBe(python);
  });

  it("reads back to the same double for any finite number", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(Object.is(Number(formatPythonFloat(value)), value)).toBe(true);
      }),
    );
  });

  it("always marks a number as a float (a point or an exponent), as Python floats are", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(formatPythonFloat(value)).toMatch(/[.e]/);
      }),
    );
  });

  it("refuses values JSON cannot hold instead of writing Python's non-JSON NaN", () => {
    expect(() => formatPythonFloat(Number.NaN)).toThrow(RangeError);
    expect(() => formatPythonFloat(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe("encodePythonJsonString", () => {
  it("escapes like json.dumps with ensure_ascii (including DEL and astral characters)", () => {
    const text = 'café ☃ 😀 \\ " \n\t\u0001\u007f/<>&\u2028';
    // Printed by CPython's json.dumps(text).
    const python = '"caf\\u00e9 \\u2603 \\ud83d\\ude00 \\\\ \\" \\n\\t\\u0001\\u007f/<>&\\u2028"';
    expect(encodePythonJsonString(text)).toBe(python);
  });

  it("reads back to the same string for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        const encoded = encodePythonJsonString(text);
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(encoded)).toBe(text);
      }),
    );
  });
});

describe("encodePythonJson", () => {
  it("uses Python's separators and keeps key order", () => {
    expect(encodePythonJson({ b: [1.5, true, null, { c: "d" }], a: [], e: {} })).toBe(
      '{"b": [1.5, true, null, {"c": "d"}], "a": [], "e": {}}',
    );
  });

  it("pretty-prints like json.dumps(indent=4)", () => {
    // Printed by CPython's json.dumps({"a": [1.5, "x"], "b": None, "c": [], "d": {}}, indent=4).
    expect(encodePythonJson({ a: [1.5, "x"], b: null, c: [], d: {} }, { indent: 4 })).toBe(
      '{\n    "a": [\n        1.5,\n        "x"\n    ],\n    "b": null,\n    "c": [],\n    "d": {}\n}',
    );
  });

  it("decodes back to an equal value", () => {
    const json = fc.jsonValue() as fc.Arbitrary<JsonValue>;
    fc.assert(
      fc.property(json, fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }), (value, indent) => {
        const text = encodePythonJson(value, indent === undefined ? {} : { indent });
        expect(decodeJson(text)).toStrictEqual(value);
      }),
      { numRuns: 1000 },
    );
  });
});
