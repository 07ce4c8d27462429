/**
 * The machine unit databag of the refresh protocol v3 and the machines local state file. Apart
 * from the shared databags (databags.ts), so that a Kubernetes charm's bundle neither carries nor
 * builds its schemas.
 */
import * as z from "zod/mini";
import { databagField, defineDatabag, type DatabagView, type DecodedDatabag } from "./databag.js";
import { CHARM_CODE_REFRESH } from "./field-schemas.js";
import { decodeFile, encodeFile } from "./local-files.js";
import { LocalFile, localStatePath, UnitKey } from "./names.js";
import type { JsonValue } from "./python-json.js";

/**
 * One confirmed charm-code refresh of a machine unit: the raw `.juju-charm` text and the
 * file's mtime in float seconds (compared for exact equality, so never rounded).
 */
export interface CharmCodeRefresh {
  readonly charmRevision: string;
  readonly timeOfRefresh: number;
}

/** The stored JSON shape of a {@link CharmCodeRefresh}; key order matches the Python writer. */
export const charmCodeRefreshSchema = z.codec(
  z.object({ charm_revision: z.string(), time_of_refresh: z.number() }),
  z.object({ charmRevision: z.string(), timeOfRefresh: z.number() }),
  {
    decode: (stored) => ({ charmRevision: stored.charm_revision, timeOfRefresh: stored.time_of_refresh }),
    encode: (entry) => ({ charm_revision: entry.charmRevision, time_of_refresh: entry.timeOfRefresh }),
  },
);

/** The unit databag of a machine unit (refresh protocol v3). */
export const machinesUnitDatabag = defineDatabag({
  /** Installed workload snap revision; absent when the snap is not installed. */
  installedSnapRevision: databagField(UnitKey.installedSnapRevision, z.string(), "a JSON string (a snap revision)"),
  /** This unit declared itself healthy on its installed revision. */
  nextUnitAllowedToRefresh: databagField(
    UnitKey.nextUnitAllowedToRefreshIfThisUnitsSnapRevisionAndDatabagAreUpToDate,
    z.boolean(),
    "JSON true or false",
  ),
  /** Mirror of this unit's `machines_refresh_started` marker. */
  refreshStarted: databagField(UnitKey.refreshStartedIfThisUnitsDatabagIsUpToDate, z.boolean(), "JSON true or false"),
  /** The latest confirmed charm-code refresh of this unit (freshness of its databag). */
  lastRefreshToUpToDateCharmCode: databagField(
    UnitKey.lastRefreshToUpToDateCharmCodeVersion,
    charmCodeRefreshSchema,
    CHARM_CODE_REFRESH,
  ),
  /** Only written to wake peers once the refresh completed. */
  unusedLastCompletedRefresh: databagField(UnitKey.unusedLastCompletedRefresh, charmCodeRefreshSchema, CHARM_CODE_REFRESH),
});

/** Field table of {@link machinesUnitDatabag}. */
export type MachinesUnitFields = typeof machinesUnitDatabag.fields;

/** Typed view of a machine unit databag. */
export type MachinesUnitDatabag = DatabagView<MachinesUnitFields>;

/** Decodes a machine unit's databag (from `relationGet`); problems are reported, never thrown. */
export function decodeMachinesUnitDatabag(raw: Readonly<Record<string, string>>, unit: string): DecodedDatabag<MachinesUnitFields> {
  return machinesUnitDatabag.decode(raw, { unit });
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
  return encodeFile(z.encode(historySchema, history) as JsonValue);
}
