import * as z from "zod/mini";
import { InvalidDatabagContent, type DatabagSource } from "../errors.js";
import { decodeJsonWith } from "./decode-json.js";
import { encodePythonJson, type JsonValue } from "./python-json.js";

/**
 * One key of a databag: its stored name, the schema of its decoded JSON value (a zod schema or
 * codec from the JSON value to the typed value) and, for error messages, what it must hold.
 */
export interface DatabagField<T> {
  /** The key exactly as stored in the databag. */
  readonly key: string;
  /** Validates the decoded JSON value and maps it to (and back from) the typed value. */
  readonly schema: z.core.$ZodType<T, JsonValue>;
  /** What the key must hold, in words, for {@link InvalidDatabagContent} messages. */
  readonly expected: string;
}

/** Declares a {@link DatabagField}. */
export function databagField<T>(key: string, schema: z.core.$ZodType<T, JsonValue>, expected: string): DatabagField<T> {
  return { key, schema, expected };
}

/** A table of fields, by the property name the typed view uses. */
export type DatabagFields = Readonly<Record<string, DatabagField<unknown>>>;

/** The typed view of a databag: a property per field, absent when the key is absent or invalid. */
export type DatabagView<F extends DatabagFields> = {
  readonly [K in keyof F]?: F[K] extends DatabagField<infer T> ? T : never;
};

/** Marks a key for deletion in {@link DatabagCodec.planWrite}. */
export const REMOVE: unique symbol = Symbol("remove databag key");

/**
 * What a unit wants a databag to hold after this hook: a value per field to set, {@link REMOVE}
 * to delete it, and nothing for the fields it leaves alone.
 */
export type DatabagUpdate<F extends DatabagFields> = {
  readonly [K in keyof F]?: (F[K] extends DatabagField<infer T> ? T : never) | typeof REMOVE;
};

/** A decoded databag and everything wrong with it. */
export interface DecodedDatabag<F extends DatabagFields> {
  /** The valid values, by field name. */
  readonly values: DatabagView<F>;
  /** One entry per key whose value did not match the protocol; those keys are absent from `values`. */
  readonly problems: readonly InvalidDatabagContent[];
  /** Property names of the fields that were present but invalid. */
  readonly invalid: ReadonlySet<keyof F>;
}

/** The `relationSet` argument: a string per key to write, null per key to delete. */
export type DatabagChanges = Record<string, string | null>;

/**
 * Reads and writes one kind of databag (a Kubernetes unit's, a machine unit's, the
 * application's) through its field table. Keys outside the table (Juju's own, or ones a newer
 * or older revision wrote) are never decoded and never touched.
 */
export interface DatabagCodec<F extends DatabagFields> {
  /** The field table, by the property name the typed view uses. */
  readonly fields: F;
  /**
   * Decodes a raw databag as returned by `HookTools.relationGet`. Never throws: each malformed
   * value becomes a problem naming `source`, the key and what was expected.
   */
  decode(raw: Readonly<Record<string, string>>, source: DatabagSource): DecodedDatabag<F>;
  /** The stored text of one value, spelled as the Python library spells it. */
  encodeValue<K extends keyof F>(field: K, value: F[K] extends DatabagField<infer T> ? T : never): string;
  /**
   * The smallest `relationSet` change map that brings `current` (the raw databag) to `update`:
   * only keys whose decoded value differs (a different spelling of the same value is left
   * alone), null for keys to delete that exist. An empty map means no `relation-set` is needed.
   */
  planWrite(current: Readonly<Record<string, string>>, update: DatabagUpdate<F>): DatabagChanges;
}

/** Builds the {@link DatabagCodec} of a field table. */
export function defineDatabag<const F extends DatabagFields>(fields: F): DatabagCodec<F> {
  const entries = Object.entries(fields) as [keyof F & string, DatabagField<unknown>][];

  return {
    fields,
    decode(raw, source) {
      const values: Record<string, unknown> = {};
      const problems: InvalidDatabagContent[] = [];
      const invalid = new Set<keyof F>();
      for (const [name, field] of entries) {
        const text = raw[field.key];
        if (text === undefined) continue;
        const result = decodeJsonWith(text, field.schema);
        if (result.ok) {
          values[name] = result.value;
        } else {
          problems.push(new InvalidDatabagContent(source, field.key, field.expected, { cause: result.cause }));
          invalid.add(name);
        }
      }
      return { values: values as DatabagView<F>, problems, invalid };
    },
    encodeValue(name, value) {
      return encodePythonJson(encodedJson(fields[name] as DatabagField<unknown>, value));
    },
    planWrite(current, update) {
      const changes: DatabagChanges = {};
      for (const [name, field] of entries) {
        if (!Object.hasOwn(update, name)) continue;
        const wanted = (update as Record<string, unknown>)[name];
        const stored = current[field.key];
        if (wanted === REMOVE) {
          if (stored !== undefined) changes[field.key] = null;
          continue;
        }
        const wantedJson = encodedJson(field, wanted);
        if (stored !== undefined) {
          const existing = decodeJsonWith(stored, field.schema);
          if (existing.ok && jsonEqual(encodedJson(field, existing.value), wantedJson)) continue;
        }
        changes[field.key] = encodePythonJson(wantedJson);
      }
      return changes;
    },
  };
}

function encodedJson(field: DatabagField<unknown>, value: unknown): JsonValue {
  return z.encode(field.schema, value) as JsonValue;
}

/** Structural equality of two JSON values (object key order does not matter, as in Python dicts). */
export function jsonEqual(left: JsonValue, right: JsonValue): boolean {
  if (left === right) return true;
  if (left === null || right === null || typeof left !== "object" || typeof right !== "object") return false;
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item: JsonValue, index: number) => jsonEqual(item, right[index] as JsonValue));
  }
  const leftObject = left as { readonly [key: string]: JsonValue };
  const rightObject = right as { readonly [key: string]: JsonValue };
  const leftKeys = Object.keys(leftObject);
  if (leftKeys.length !== Object.keys(rightObject).length) return false;
  return leftKeys.every((key) => Object.hasOwn(rightObject, key) && jsonEqual(leftObject[key] as JsonValue, rightObject[key] as JsonValue));
}
