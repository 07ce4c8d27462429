/**
 * JSON text exactly as Python's `json.dumps` writes it with default arguments.
 *
 * Peer databag values are JSON inside Juju's string map. Juju compares the stored text, so a
 * value that decodes the same but is spelled differently (no space after `:`, `1.0` written as
 * `1`) still fires `relation-changed` on every peer. Writing the Python library's spelling keeps
 * a charm that moves between the Python library and this one from waking its peers for nothing,
 * and lets the captured Python writes serve as byte-for-byte fixtures.
 */

/** A value the protocol can store: what `JSON.parse` returns, minus nothing. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Options for {@link encodePythonJson}. */
export interface PythonJsonOptions {
  /**
   * Pretty-print like `json.dumps(value, indent=n)`: newlines, `n` spaces per level, and `","`
   * (no trailing space) between items. Omit for the compact one-line form used in databags.
   */
  readonly indent?: number;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * A string literal as `json.dumps` writes it with `ensure_ascii=True`: printable ASCII stays,
 * everything else becomes `\uXXXX` (lowercase hex). Characters outside the Basic Multilingual
 * Plane become two escapes, one per UTF-16 code unit, which is what Python writes as well.
 */
export function encodePythonJsonString(text: string): string {
  let out = '"';
  for (let index = 0; index < text.length; index++) {
    const char = text.charAt(index);
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const codeUnit = text.charCodeAt(index);
    // Python keeps exactly the range " " to "~" as is.
    out += codeUnit >= 0x20 && codeUnit <= 0x7e ? char : `\\u${codeUnit.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/**
 * A number as Python's `repr(float)` writes it, which is what `json.dumps` uses for floats:
 * the shortest digits that read back to the same double (the same digits JavaScript picks),
 * an exponent only below 1e-4 or from 1e16 on (`1e-05`, `1.5e+16`, at least two exponent
 * digits), and `.0` on whole numbers (`1727768259.0`).
 *
 * Every number in the refresh protocol is a Python float (timestamps), so this is the only
 * number format the encoder needs.
 */
export function formatPythonFloat(value: number): string {
  if (!Number.isFinite(value)) {
    // Python would write NaN/Infinity, which is not JSON and which no reader here accepts.
    throw new RangeError(`cannot store ${String(value)} in a databag: only finite numbers are valid JSON`);
  }
  if (value === 0) {
    return Object.is(value, -0) ? "-0.0" : "0.0";
  }
  const sign = value < 0 ? "-" : "";
  // toExponential() without an argument yields the shortest round-trip digits.
  const match = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(value).toExponential());
  if (match === null) {
    throw new Error(`unexpected exponential form of ${value}`);
  }
  const digits = `${match[1]}${match[2] ?? ""}`;
  const exponent = Number(match[3]);
  // Position of the decimal point relative to the first digit, as CPython's formatter counts it.
  const pointPosition = exponent + 1;
  if (pointPosition <= -4 || pointPosition > 16) {
    const mantissa = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    const exponentSign = exponent < 0 ? "-" : "+";
    return `${sign}${mantissa}e${exponentSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (pointPosition <= 0) {
    return `${sign}0.${"0".repeat(-pointPosition)}${digits}`;
  }
  if (pointPosition >= digits.length) {
    return `${sign}${digits}${"0".repeat(pointPosition - digits.length)}.0`;
  }
  return `${sign}${digits.slice(0, pointPosition)}.${digits.slice(pointPosition)}`;
}

/**
 * Serialises a value the way Python's `json.dumps` does with default arguments (`", "` and
 * `": "` separators, non-ASCII escaped, keys in insertion order, numbers as floats), or with
 * `indent` like `json.dumps(value, indent=n)`. Beware that JavaScript lists integer-like object
 * keys (`"10"`) first whatever the insertion order; no protocol object has such keys.
 */
export function encodePythonJson(value: JsonValue, options: PythonJsonOptions = {}): string {
  return encodeAt(value, options.indent, 0);
}

function encodeAt(value: JsonValue, indent: number | undefined, depth: number): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return formatPythonFloat(value);
  if (typeof value === "string") return encodePythonJsonString(value);
  const isArray = Array.isArray(value);
  const items: string[] = isArray
    ? (value as readonly JsonValue[]).map((item) => encodeAt(item, indent, depth + 1))
    : Object.entries(value as { readonly [key: string]: JsonValue }).map(
        ([key, item]) => `${encodePythonJsonString(key)}: ${encodeAt(item, indent, depth + 1)}`,
      );
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (items.length === 0) return `${open}${close}`;
  if (indent === undefined) return `${open}${items.join(", ")}${close}`;
  const inner = "\n" + " ".repeat(indent * (depth + 1));
  const outer = "\n" + " ".repeat(indent * depth);
  return `${open}${inner}${items.join(`,${inner}`)}${outer}${close}`;
}

/**
 * Parses JSON text written by either library. Python's reader would also accept `NaN` and
 * `Infinity`; no writer of the protocol produces them, so rejecting them is safe.
 * Throws `SyntaxError` on malformed text.
 */
export function decodeJson(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}
