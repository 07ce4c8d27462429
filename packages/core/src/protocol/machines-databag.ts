/**
 * The machine unit databag of the refresh protocol v3. Apart from the shared databags
 * (databags.ts), so that a Kubernetes charm's bundle neither carries nor builds its schemas.
 */
import * as z from "zod/mini";
import { databagField, defineDatabag, type DatabagView, type DecodedDatabag } from "./databag.js";
import { charmCodeRefreshSchema } from "./databags.js";
import { CHARM_CODE_REFRESH } from "./field-schemas.js";
import { UnitKey } from "./names.js";

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
