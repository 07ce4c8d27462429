/**
 * JSON text byte-identical to what Python's `json.dumps` (default settings) writes, for the
 * values the machines protocol stores. Units running the Python library and units running
 * this one share databags during a refresh and a rollback; Juju compares values as text and
 * fires `relation-changed` on every textual change, so identical values must be identical
 * text, not merely equal after decoding.
 */

/** A number that Python wrote, or must read, as a `float` (always with a fraction or exponent). */
export interface PythonFloat {
  readonly pythonFloat: number;
}

/** Marks a number to be written the way Python writes a `float` (`1727768259.0`, not `1727768259`). */
export function pythonFloat(value: number): PythonFloat {
  return { pythonFloat: value };
}

/** Values {@link toPythonJson} can write. */
export type PythonJsonValue =
  | string
  | boolean
  | null
  | PythonFloat
  | readonly PythonJsonValue[]
  | { readonly [key: string]: PythonJsonValue };

function isPythonFloat(value: unknown): value is PythonFloat {
  return typeof value === "object" && value !== null && "pythonFloat" in value;
}

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mantissa = "", exponentText = "0"] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    const integerPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fraction = digits.slice(exponent + 1);
    return `${sign}${integerPart}.${fraction === "" ? "0" : fraction}`;
  }
  const fraction = digits.slice(1);
  const exponentSign = exponent < 0 ? "-" : "+";
  const exponentDigits = String(Math.abs(exponent)).padStart(2, "0");
  return `${sign}${digits[0] ?? ""}${fraction === "" ? "" : `.${fraction}`}e${exponentSign}${exponentDigits}`;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/** A JSON string literal as Python writes it with `ensure_ascii=True`. */
function pythonString(value: string): string {
  let out = '"';
  for (let index = 0; index < value.length; index += 1) {
    const char = value.charAt(index);
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const code = value.charCodeAt(index);
    out += code < 0x20 || code > 0x7e ? `\\u${code.toString(16).padStart(4, "0")}` : char;
  }
  return `${out}"`;
}

/**
 * Serialises a value like Python's `json.dumps(value)`: `", "` and `": "` separators,
 * non-ASCII escaped, floats in Python's `repr` form, keys in insertion order.
 */
export function toPythonJson(value: PythonJsonValue): string {
  if (value === null) return "null";
  if (typeof value === "string") return pythonString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (isPythonFloat(value)) return pythonFloatRepr(value.pythonFloat);
  if (Array.isArray(value)) return `[${(value as readonly PythonJsonValue[]).map(toPythonJson).join(", ")}]`;
  const entries = Object.entries(value as { readonly [key: string]: PythonJsonValue });
  return `{${entries.map(([key, item]) => `${pythonString(key)}: ${toPythonJson(item)}`).join(", ")}}`;
}
