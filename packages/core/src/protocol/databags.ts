import * as z from "zod/mini";
import { databagField, defineDatabag, type DatabagView, type DecodedDatabag } from "./databag.js";
import { AppKey, UnitKey } from "./names.js";

// Writers never store duplicates, but a duplicate is harmless to every reader (the lists are
// used as sets), so it is tolerated rather than reported.
const stringList = z.array(z.string());

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

const CHARM_CODE_REFRESH = 'an object {"charm_revision": <text>, "time_of_refresh": <seconds>}';

/** The unit databag of a Kubernetes unit (refresh protocol v3). */
export const kubernetesUnitDatabag = defineDatabag({
  /** Raw config value this unit sees (possibly invalid: that is for the pause rule to judge). */
  pauseAfterUnitRefreshConfig: databagField(UnitKey.pauseAfterUnitRefreshConfig, z.string(), "a JSON string"),
  /** Controller revisions this unit started the refresh for. */
  refreshStartedForRevisions: databagField(
    UnitKey.refreshStartedIfAppControllerRevisionHashIn,
    stringList,
    "a JSON list of controller revision names",
  ),
  /** The controller revision this unit declared itself healthy on. */
  nextUnitAllowedForRevision: databagField(
    UnitKey.nextUnitAllowedToRefreshIfAppControllerRevisionHashEquals,
    z.string(),
    "a JSON string naming a controller revision",
  ),
  /** Pod UIDs of peers this unit saw depart. */
  tearingDownPodUids: databagField(
    UnitKey.podUidsOfUnitsThatAreTearingDown,
    stringList,
    "a JSON list of pod UIDs",
  ),
  /** Only written to wake the leader; epoch seconds. */
  unusedStopEventPartitionRaisedAt: databagField(
    UnitKey.unusedTimestampDuringLastStopEventWherePartitionRaised,
    z.number(),
    "a JSON number (seconds since the epoch)",
  ),
  /** Only written to wake peers; the app's controller revision. */
  unusedStopEventAppRevisionAsHighestUnit: databagField(
    UnitKey.unusedAppControllerRevisionDuringLastStopEventAsHighestUnit,
    z.string(),
    "a JSON string naming a controller revision",
  ),
  /** Only written to wake the leader; this unit's new pod UID. */
  unusedPodUidAfterRestartPartitionRaised: databagField(
    UnitKey.unusedPodUidAfterPodRestartAndPartitionRaised,
    z.string(),
    "a JSON string (a pod UID)",
  ),
});

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

/** The application databag of the peer relation (both substrates; only the leader writes). */
export const appDatabag = defineDatabag({
  /** Every controller revision the refresh was started for (Kubernetes). */
  refreshStartedForRevisions: databagField(
    AppKey.refreshStartedIfAppControllerRevisionHashIn,
    stringList,
    "a JSON list of controller revision names",
  ),
  /** Pinned workload version of the original charm; null when the original workload did not match its pin. */
  originalWorkloadVersion: databagField(AppKey.originalWorkloadVersion, z.nullable(z.string()), "a JSON string or null"),
  /** Original OCI image digest (Kubernetes) or snap revision (machines). */
  originalWorkloadContainerVersion: databagField(
    AppKey.originalWorkloadContainerVersion,
    z.string(),
    "a JSON string (an image digest or snap revision)",
  ),
  /** Whether the original workload matched the original charm's pin. */
  originalWorkloadMatchedPin: databagField(
    AppKey.originalInstalledWorkloadContainerMatchedPinnedContainer,
    z.boolean(),
    "JSON true or false",
  ),
  /** Original charm version text. */
  originalCharmVersion: databagField(AppKey.originalCharmVersion, z.string(), "a JSON string (a charm version)"),
  /** Original raw `.juju-charm` content. */
  originalCharmRevision: databagField(AppKey.originalCharmRevision, z.string(), "a JSON string (a charm revision)"),
});

/** Field table of {@link kubernetesUnitDatabag}. */
export type KubernetesUnitFields = typeof kubernetesUnitDatabag.fields;
/** Field table of {@link machinesUnitDatabag}. */
export type MachinesUnitFields = typeof machinesUnitDatabag.fields;
/** Field table of {@link appDatabag}. */
export type AppFields = typeof appDatabag.fields;

/** Typed view of a Kubernetes unit databag. */
export type KubernetesUnitDatabag = DatabagView<KubernetesUnitFields>;
/** Typed view of a machine unit databag. */
export type MachinesUnitDatabag = DatabagView<MachinesUnitFields>;
/** Typed view of the application databag. */
export type AppDatabag = DatabagView<AppFields>;

/** Decodes a Kubernetes unit's databag (from `relationGet`); problems are reported, never thrown. */
export function decodeKubernetesUnitDatabag(raw: Readonly<Record<string, string>>, unit: string): DecodedDatabag<KubernetesUnitFields> {
  return kubernetesUnitDatabag.decode(raw, { unit });
}

/** Decodes a machine unit's databag (from `relationGet`); problems are reported, never thrown. */
export function decodeMachinesUnitDatabag(raw: Readonly<Record<string, string>>, unit: string): DecodedDatabag<MachinesUnitFields> {
  return machinesUnitDatabag.decode(raw, { unit });
}

/** Decodes the application databag (from `relationGet`); problems are reported, never thrown. */
export function decodeAppDatabag(raw: Readonly<Record<string, string>>, app: string): DecodedDatabag<AppFields> {
  return appDatabag.decode(raw, { app });
}
