/**
 * Names of the refresh protocol v3, shared with the Python charm-refresh library. Units running
 * either library coexist during a refresh and a rollback, so every name here is an interface
 * fact: never rename one.
 */

/** The peer relation endpoint the refresh coordinates through. */
export const PEER_RELATION_NAME = "refresh-v-three";

/** The interface of {@link PEER_RELATION_NAME}. */
export const PEER_RELATION_INTERFACE = "refresh";

/** The directory, relative to the charm directory (the hook's working directory), of local state. */
export const LOCAL_STATE_DIR = ".charm_refresh_v3";

/** Unit databag keys (each unit writes only its own databag). */
export const UnitKey = {
  // Kubernetes
  /** The `pause-after-unit-refresh` value this unit sees, raw (possibly invalid). Kubernetes. */
  pauseAfterUnitRefreshConfig: "pause_after_unit_refresh_config",
  /** Controller revisions for which this unit started the refresh. Kubernetes. */
  refreshStartedIfAppControllerRevisionHashIn: "refresh_started_if_app_controller_revision_hash_in",
  /** The revision this unit declared itself healthy on. Kubernetes. */
  nextUnitAllowedToRefreshIfAppControllerRevisionHashEquals:
    "next_unit_allowed_to_refresh_if_app_controller_revision_hash_equals",
  /** Pod UIDs of peers this unit saw depart. Kubernetes. */
  podUidsOfUnitsThatAreTearingDown: "pod_uids_of_units_that_are_tearing_down",
  /** Written only to wake the leader after a stop event raised the partition. Kubernetes. */
  unusedTimestampDuringLastStopEventWherePartitionRaised:
    "_unused_timestamp_during_last_stop_event_where_partition_raised",
  /** Written only to wake peers when the highest unit stops during a refresh. Kubernetes. */
  unusedAppControllerRevisionDuringLastStopEventAsHighestUnit:
    "_unused_app_controller_revision_during_last_stop_event_as_highest_unit",
  /** Written only to wake the leader after a new pod raised the partition. Kubernetes. */
  unusedPodUidAfterPodRestartAndPartitionRaised: "_unused_pod_uid_after_pod_restart_and_partition_raised",
  // Machines
  /** The workload snap revision installed on this unit (absent when not installed). Machines. */
  installedSnapRevision: "installed_snap_revision",
  /** This unit declared itself healthy on its installed revision. Machines. */
  nextUnitAllowedToRefreshIfThisUnitsSnapRevisionAndDatabagAreUpToDate:
    "next_unit_allowed_to_refresh_if_this_units_snap_revision_and_databag_are_up_to_date",
  /** Mirror of the local `machines_refresh_started` marker. Machines. */
  refreshStartedIfThisUnitsDatabagIsUpToDate: "refresh_started_if_this_units_databag_is_up_to_date",
  /** The latest confirmed charm-code refresh of this unit. Machines. */
  lastRefreshToUpToDateCharmCodeVersion: "last_refresh_to_up_to_date_charm_code_version",
  /** Written only to wake peers once a refresh has completed. Machines. */
  unusedLastCompletedRefresh: "_unused_last_completed_refresh",
} as const;

/** Application databag keys (only the leader writes them). */
export const AppKey = {
  /** Every controller revision any unit started the refresh for. Kubernetes. */
  refreshStartedIfAppControllerRevisionHashIn: "refresh_started_if_app_controller_revision_hash_in",
  /** Pinned workload version of the original charm, or null when its workload did not match the pin. */
  originalWorkloadVersion: "original_workload_version",
  /** Original OCI image digest (Kubernetes) or snap revision (machines). */
  originalWorkloadContainerVersion: "original_workload_container_version",
  /** The original workload matched the original charm's pin. */
  originalInstalledWorkloadContainerMatchedPinnedContainer:
    "original_installed_workload_container_matched_pinned_container",
  /** Original charm version text, e.g. `16/1.19.0`. */
  originalCharmVersion: "original_charm_version",
  /** Original raw `.juju-charm` content, e.g. `ch:amd64/noble/postgresql-602`. */
  originalCharmRevision: "original_charm_revision",
} as const;

/** File names under {@link LOCAL_STATE_DIR}. Empty files are markers: only their existence counts. */
export const LocalFile = {
  /** Marker: this unit is being removed. Kubernetes. */
  kubernetesUnitTearingDown: "kubernetes_unit_tearing_down",
  /** Marker: the tearing-down log line was written. Kubernetes. */
  kubernetesUnitTearingDownLogged: "kubernetes_unit_tearing_down_logged",
  /** Marker: this pod already had its first event (and its chance to raise the partition). Kubernetes. */
  kubernetesHadOpportunityToRaisePartitionAfterPodRestart:
    "kubernetes_had_opportunity_to_raise_partition_after_pod_restart",
  /** JSON list of pod UIDs of departed peers. Kubernetes. */
  kubernetesPodIdsOfUnitsThatAreTearingDown: "kubernetes_pod_ids_of_units_that_are_tearing_down.json",
  /** Marker: this unit started the refresh for its revision. Kubernetes. */
  kubernetesRefreshStarted: "kubernetes_refresh_started",
  /** JSON history of the last two confirmed charm-code refreshes. Machines. */
  machinesLastTwoRefreshesToUpToDateCharmCodeVersion:
    "machines_last_two_refreshes_to_up_to_date_charm_code_version.json",
  /** Marker: the refresh to this unit's pinned snap revision has started. Machines. */
  machinesRefreshStarted: "machines_refresh_started",
  /** Marker: this unit is being removed. Machines. */
  machinesUnitTearingDown: "machines_unit_tearing_down",
  /** Marker: the tearing-down log line was written. Machines. */
  machinesUnitTearingDownLogged: "machines_unit_tearing_down_logged",
  /** Marker: every planned unit had joined the peer relation once. Machines. */
  machinesPeerRelationInitialized: "machines_peer_relation_initialized",
  /** Plain text (no trailing newline): workload version of the installed snap. Machines. */
  machinesInstalledWorkloadVersion: "machines_installed_workload_version",
} as const;

/** One of the {@link LocalFile} names. */
export type LocalFileName = (typeof LocalFile)[keyof typeof LocalFile];

/** The path of a local state file relative to the charm directory, e.g. `.charm_refresh_v3/machines_refresh_started`. */
export function localStatePath(file: LocalFileName): string {
  return `${LOCAL_STATE_DIR}/${file}`;
}
