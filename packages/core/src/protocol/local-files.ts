import * as z from "zod/mini";
import { LocalStateInvalid } from "../errors.js";
import { charmCodeRefreshSchema, type CharmCodeRefresh } from "./databags.js";
import { decodeJsonWith } from "./decode-json.js";
import { LocalFile, localStatePath } from "./names.js";
import { encodePythonJson, type JsonValue } from "./python-json.js";

// The Python library pretty-prints its JSON state files with a 4-space indent and no trailing
// newline; matching it keeps the files identical whichever library wrote them last.
const FILE_INDENT = 4;

function decodeFile<T>(text: string, schema: z.core.$ZodType<T, JsonValue>, path: string, expected: string): T {
  const result = decodeJsonWith(text, schema);
  if (!result.ok) throw new LocalStateInvalid(path, expected, { cause: result.cause });
  return result.value;
}

const podUidListSchema = z.array(z.string());

/**
 * Reads `kubernetes_pod_ids_of_units_that_are_tearing_down.json` (a list of pod UIDs).
 * Throws {@link LocalStateInvalid} when it is not a JSON list of strings.
 */
export function decodeTearingDownPodUidsFile(text: string): string[] {
  return decodeFile(
    text,
    podUidListSchema,
    localStatePath(LocalFile.kubernetesPodIdsOfUnitsThatAreTearingDown),
    "a JSON list of pod UIDs",
  );
}

/** The text of `kubernetes_pod_ids_of_units_that_are_tearing_down.json`. */
export function encodeTearingDownPodUidsFile(podUids: readonly string[]): string {
  return encodePythonJson(podUids, { indent: FILE_INDENT });
}

/** The last two confirmed charm-code refreshes of a machine unit (newest first). */
export interface CharmCodeRefreshHistory {
  readonly last: CharmCodeRefresh;
  /** Absent (null) on a fresh install or a unit added by scale-up. */
  readonly secondToLast: CharmCodeRefresh | null;
}

const historySchema = z.codec(
  z.object({
    last_refresh_to_up_to_date_charm_code_version: charmCodeRefreshSchema,
    second_to_last_refresh_to_up_to_date_charm_code_version: z.nullable(charmCodeRefreshSchema),
  }),
  z.object({ last: z.custom<CharmCodeRefresh>(), secondToLast: z.custom<CharmCodeRefresh | null>() }),
  {
    decode: (stored) => ({
      last: stored.last_refresh_to_up_to_date_charm_code_version,
      secondToLast: stored.second_to_last_refresh_to_up_to_date_charm_code_version,
    }),
    encode: (history) => ({
      last_refresh_to_up_to_date_charm_code_version: history.last,
      second_to_last_refresh_to_up_to_date_charm_code_version: history.secondToLast,
    }),
  },
);

/**
 * Reads `machines_last_two_refreshes_to_up_to_date_charm_code_version.json`. Throws
 * {@link LocalStateInvalid} when it does not hold the two entries.
 */
export function decodeCharmCodeRefreshHistoryFile(text: string): CharmCodeRefreshHistory {
  return decodeFile(
    text,
    historySchema,
    localStatePath(LocalFile.machinesLastTwoRefreshesToUpToDateCharmCodeVersion),
    "a JSON object with the last two charm code refreshes",
  );
}

/** The text of `machines_last_two_refreshes_to_up_to_date_charm_code_version.json`. */
export function encodeCharmCodeRefreshHistoryFile(history: CharmCodeRefreshHistory): string {
  return encodePythonJson(z.encode(historySchema, history) as JsonValue, { indent: FILE_INDENT });
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
