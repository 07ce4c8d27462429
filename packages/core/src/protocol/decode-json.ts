import * as z from "zod/mini";
import { englishIssues } from "../validation.js";
import { decodeJson, type JsonValue } from "./python-json.js";

/** What {@link decodeJsonWith} found: the typed value, or why the text was refused. */
export type JsonDecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly cause: unknown };

/**
 * Parses JSON text written by either library and decodes it through `schema`. Never throws:
 * malformed JSON and a value of the wrong shape both come back as a `cause`, so each caller
 * decides whether that is a reported problem (peer databags) or an error (local files).
 */
export function decodeJsonWith<T>(text: string, schema: z.core.$ZodType<T, JsonValue>): JsonDecodeResult<T> {
  let json: JsonValue;
  try {
    json = decodeJson(text);
  } catch (cause) {
    return { ok: false, cause };
  }
  const parsed = z.safeDecode(schema, json, englishIssues);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, cause: parsed.error };
}
