/**
 * What the refresh needs from the Kubernetes API server, bound to one application (its
 * StatefulSet, named after the Juju application) in one namespace.
 *
 * The default implementation talks HTTPS to the in-cluster API server
 * ({@link connectInCluster}); tests can pass any other implementation to
 * `Kubernetes.create`.
 */
export interface KubernetesApi {
  /**
   * Asks the API server (SelfSubjectAccessReview) whether this pod's service account may
   * patch the application's StatefulSet, which `juju trust <app> --scope=cluster` grants.
   */
  mayPatchStatefulSet(): Promise<boolean>;
  /** Reads the application's StatefulSet. */
  readStatefulSet(): Promise<StatefulSetState>;
  /** Lists the application's pods (terminating pods included). */
  listPods(): Promise<PodState[]>;
  /**
   * Sets `spec.updateStrategy.rollingUpdate.partition` (merge patch) and returns the
   * StatefulSet as the server stored it.
   */
  patchPartition(partition: number): Promise<StatefulSetState>;
}

/** The parts of the application's StatefulSet the refresh reads. */
export interface StatefulSetState {
  /** ControllerRevision that pods are being moved to (`status.updateRevision`). */
  readonly updateRevision: string;
  /** Pods with an ordinal at or above it may move to `updateRevision`. */
  readonly partition: number;
}

/** One pod of the application, i.e. one Juju unit. */
export interface PodState {
  /** Pod name, `<app>-<N>`. */
  readonly name: string;
  /** `metadata.uid`: tells a recreated pod from the one it replaced. */
  readonly uid: string;
  /** Label `controller-revision-hash`: the ControllerRevision the pod was created from. */
  readonly controllerRevision: string;
  /** `status.containerStatuses` (absent on a pod that has not started any container yet). */
  readonly containers: readonly ContainerState[];
}

/** A container of a pod, as `status.containerStatuses` reports it. */
export interface ContainerState {
  readonly name: string;
  /** Image the container runs, e.g. `registry/…/image@sha256:…`; empty until the image is pulled. */
  readonly imageId: string;
}
