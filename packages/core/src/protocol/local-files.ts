/**
 * What every local state file codec shares. The codecs themselves live with their substrate's
 * databag (kubernetes-databag.ts, machines-databag.ts), so that a charm's bundle neither carries
 * nor builds the other substrate's schemas. Only {@link pythonMtimeSeconds} is public: the
 * package index re-exports nothing else from here.
 */
import type * as z from "zod/mini";
import { LocalStateInvalid } from "../errors.js";
import { decodeJsonWith } from "./decode-json.js";
import { encodePythonJson, type JsonValue } from "./python-json.js";

// The Python library pretty-prints its JSON state files with a 4-space indent and no trailing
// newline; matching it keeps the files identical whichever library wrote them last.
const FILE_INDENT = 4;

/**
 * Decodes the text of the local state file at `path` with `schema`. Throws
 * {@link LocalStateInvalid}, saying the file should be `expected`, when it does not fit.
 */
export function decodeFile<T>(text: string, schema: z.core.$ZodType<T, JsonValue>, path: string, expected: string): T {
  const result = decodeJsonWith(text, schema);
  if (!result.ok) throw new LocalStateInvalid(path, expected, { cause: result.cause });
  return result.value;
}

/** The text of a local state file holding `value`, as the Python library writes it. */
export function encodeFile(value: JsonValue): string {
  return encodePythonJson(value, { indent: FILE_INDENT });
}

/**
 * The mtime of a file as the float seconds Python's `os.stat().st_mtime` reports, from the
 * nanoseconds of a bigint `stat` (`fs.stat(path, { bigint: true }).mtimeNs`). Charm-code refresh
 * history entries are compared with `===`, so `mtimeMs / 1000` (which can differ in the last
 * bit) must not be used.
 */
export function pythonMtimeSeconds(mtimeNs: bigint): number {
  const seconds = mtimeNs / 1_000_000_000n;
  const nanoseconds = mtimeNs % 1_000_000_000n;
  return Number(seconds) + Number(nanoseconds) * 1e-9;
}
