/**
 * The Kubernetes unit databag of the refresh protocol v3 and the Kubernetes local state file.
 * Apart from the shared databags (databags.ts), so that a machine charm's bundle neither carries
 * nor builds its schemas.
 */
import * as z from "zod/mini";
import { databagField, defineDatabag, type DatabagView, type DecodedDatabag } from "./databag.js";
import { stringList } from "./field-schemas.js";
import { decodeFile, encodeFile } from "./local-files.js";
import { LocalFile, localStatePath, UnitKey } from "./names.js";

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

/** Field table of {@link kubernetesUnitDatabag}. */
export type KubernetesUnitFields = typeof kubernetesUnitDatabag.fields;

/** Typed view of a Kubernetes unit databag. */
export type KubernetesUnitDatabag = DatabagView<KubernetesUnitFields>;

/** Decodes a Kubernetes unit's databag (from `relationGet`); problems are reported, never thrown. */
export function decodeKubernetesUnitDatabag(raw: Readonly<Record<string, string>>, unit: string): DecodedDatabag<KubernetesUnitFields> {
  return kubernetesUnitDatabag.decode(raw, { unit });
}

/**
 * Reads `kubernetes_pod_ids_of_units_that_are_tearing_down.json` (a list of pod UIDs).
 * Throws {@link LocalStateInvalid} when it is not a JSON list of strings.
 */
export function decodeTearingDownPodUidsFile(text: string): string[] {
  return decodeFile(
    text,
    stringList,
    localStatePath(LocalFile.kubernetesPodIdsOfUnitsThatAreTearingDown),
    "a JSON list of pod UIDs",
  );
}

/** The text of `kubernetes_pod_ids_of_units_that_are_tearing_down.json`. */
export function encodeTearingDownPodUidsFile(podUids: readonly string[]): string {
  return encodeFile(podUids);
}
