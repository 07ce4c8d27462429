import { createHash } from "node:crypto";
import { TestingError } from "../errors.js";
import { wireTimestamp } from "../json-http.js";

/** Label Juju puts on every unit pod (and the StatefulSet selector): the application name. */
export const APP_NAME_LABEL = "app.kubernetes.io/name";
/** Label the StatefulSet controller puts on each pod: the ControllerRevision it was created from. */
export const REVISION_HASH_LABEL = "controller-revision-hash";

/** One container of a pod template, as `juju refresh` sets it (name and image reference). */
export interface ContainerTemplate {
  /** Container name, e.g. `charm` or the workload container named in metadata.yaml. */
  readonly name: string;
  /**
   * Image reference. Juju pins workload images by digest (`registry/charm/<id>/<resource>@sha256:<hex>`);
   * a reference without a digest gets a made-up but stable digest in `imageID`.
   */
  readonly image: string;
}

/**
 * The pod template of an application's StatefulSet. Two templates are the same revision exactly
 * when they are deeply equal, so put the charm revision in `annotations` to make a charm-only
 * refresh produce a new ControllerRevision, as Juju does.
 */
export interface PodTemplate {
  /**
   * Pod template annotations. Juju bumps `charm.juju.is/modified-version` here on a charm
   * refresh, which is why a charm-only refresh rolls the pods.
   */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Containers of every pod, in order. */
  readonly containers: readonly ContainerTemplate[];
}

/** Why a pod is being deleted; the model decides which hooks to run from it. */
export type PodDeletionReason = "rolling-update" | "evicted" | "deleted" | "scale-down";

/**
 * Something that changed in the cluster. Every mutating method returns the changes it caused
 * (in order) and also hands them to {@link FakeKubernetesCluster.subscribe} listeners, which
 * is how the model learns about changes made through the API server (a partition patch).
 */
export type ClusterChange =
  | { readonly type: "revision-created"; readonly app: string; readonly revision: string; readonly number: number }
  | { readonly type: "update-revision-changed"; readonly app: string; readonly from: string; readonly to: string }
  | { readonly type: "current-revision-changed"; readonly app: string; readonly from: string; readonly to: string }
  | { readonly type: "partition-changed"; readonly app: string; readonly from: number; readonly to: number }
  | { readonly type: "replicas-changed"; readonly app: string; readonly from: number; readonly to: number }
  | {
      /** The pod got a deletionTimestamp: run `stop` in it now, then call `finishPodDeletion`. */
      readonly type: "pod-deleting";
      readonly app: string;
      readonly ordinal: number;
      readonly uid: string;
      readonly revision: string;
      readonly reason: PodDeletionReason;
    }
  | { readonly type: "pod-deleted"; readonly app: string; readonly ordinal: number; readonly uid: string; readonly revision: string }
  | {
      /** A fresh pod (new uid, empty local state) exists: run the new unit's hooks in it. */
      readonly type: "pod-created";
      readonly app: string;
      readonly ordinal: number;
      readonly uid: string;
      readonly revision: string;
    }
  | { readonly type: "pod-ready-changed"; readonly app: string; readonly ordinal: number; readonly uid: string; readonly ready: boolean }
  | { readonly type: "trust-changed"; readonly app: string; readonly trusted: boolean };

/** A listener for {@link ClusterChange}s. */
export type ClusterListener = (change: ClusterChange) => void;

/** A container as the pod's status reports it. */
export interface FakeContainerStatus {
  readonly name: string;
  readonly image: string;
  /** `registry/…@sha256:<hex>`, or empty while the image has not been pulled. */
  readonly imageID: string;
  readonly ready: boolean;
  readonly restartCount: number;
}

/** A read-only snapshot of one pod. */
export interface FakePod {
  readonly app: string;
  readonly name: string;
  readonly ordinal: number;
  /** New on every recreation, so a test (and the library) can tell a replaced pod apart. */
  readonly uid: string;
  /** Name of the ControllerRevision the pod was created from (`controller-revision-hash` label). */
  readonly revision: string;
  readonly phase: "Running";
  readonly ready: boolean;
  /** Set while the pod is terminating (between `pod-deleting` and `pod-deleted`). */
  readonly deletionTimestamp: string | undefined;
  readonly creationTimestamp: string;
  readonly resourceVersion: string;
  readonly containers: readonly FakeContainerStatus[];
  readonly annotations: Readonly<Record<string, string>>;
}

/** A read-only snapshot of one ControllerRevision. */
export interface FakeControllerRevision {
  readonly app: string;
  /** `<app>-<hash>`. */
  readonly name: string;
  readonly hash: string;
  /** Increases with every new (or reused) update revision, as Kubernetes does. */
  readonly number: number;
  readonly template: PodTemplate;
  readonly uid: string;
  readonly creationTimestamp: string;
  readonly resourceVersion: string;
}

/** How to create an application's StatefulSet. */
export interface DeployOptions {
  readonly template: PodTemplate;
  readonly replicas: number;
  /** `juju trust <app> --scope=cluster` (default false: like a fresh `juju deploy` without `--trust`). */
  readonly trusted?: boolean;
  /** Initial partition (default 0, the API server's default). */
  readonly partition?: number;
}

/** Options of {@link FakeKubernetesCluster}. */
export interface FakeKubernetesClusterOptions {
  /** The namespace everything lives in; Juju uses the model name. */
  readonly namespace: string;
  /** Time source for timestamps (default: the wall clock). Pass the simulator's clock for reproducible output. */
  readonly now?: () => Date;
  /**
   * Makes object uids. The default is a deterministic counter formatted as a UUID, so runs with the
   * same seed produce the same objects.
   */
  readonly newUid?: () => string;
}

/** The stable codes a {@link FakeClusterError} carries, one per kind of impossible request. */
export type FakeClusterErrorCode =
  | "FAKE_CLUSTER_INVALID_NAMESPACE"
  | "FAKE_CLUSTER_INVALID_APP_NAME"
  | "FAKE_CLUSTER_APP_ALREADY_DEPLOYED"
  | "FAKE_CLUSTER_APP_NOT_DEPLOYED"
  | "FAKE_CLUSTER_UNKNOWN_REVISION"
  | "FAKE_CLUSTER_FOREIGN_REVISION"
  | "FAKE_CLUSTER_UNKNOWN_POD"
  | "FAKE_CLUSTER_UNKNOWN_CONTAINER"
  | "FAKE_CLUSTER_POD_TERMINATING"
  | "FAKE_CLUSTER_POD_NOT_TERMINATING"
  | "FAKE_CLUSTER_REPLACEMENT_OUT_OF_ORDER"
  | "FAKE_CLUSTER_REMOVAL_OUT_OF_ORDER"
  | "FAKE_CLUSTER_INVALID_REPLICAS"
  | "FAKE_CLUSTER_INVALID_PARTITION"
  | "FAKE_CLUSTER_INVALID_TEMPLATE"
  | "FAKE_CLUSTER_INTERNAL";

/**
 * Thrown when a test or the model asks the fake cluster for something that cannot happen.
 * The fake API server answers it as a 422 `Invalid` Status carrying the same message.
 */
export class FakeClusterError extends TestingError {
  declare readonly code: FakeClusterErrorCode;

  constructor(code: FakeClusterErrorCode, message: string) {
    super(code, message);
  }
}

interface PodRecord {
  ordinal: number;
  uid: string;
  revision: string;
  ready: boolean;
  deletionTimestamp: string | undefined;
  deletionReason: PodDeletionReason | undefined;
  creationTimestamp: string;
  resourceVersion: string;
  containers: FakeContainerStatus[];
  annotations: Record<string, string>;
}

interface RevisionRecord {
  name: string;
  hash: string;
  number: number;
  template: PodTemplate;
  canonical: string;
  uid: string;
  creationTimestamp: string;
  resourceVersion: string;
}

/**
 * A Kubernetes namespace holding Juju applications as StatefulSets, with the StatefulSet
 * controller's rolling-update rules. Pure state: no I/O, no timers. The Juju model drives it
 * (deploy, `juju refresh`, readiness after hooks, eviction, scale) and
 * {@link FakeKubernetesApiServer} serves it over HTTPS.
 */
export class FakeKubernetesCluster {
  /** The namespace (Juju model name). */
  readonly namespace: string;
  private readonly now: () => Date;
  private readonly newUid: () => string;
  private readonly apps = new Map<string, FakeStatefulSet>();
  private readonly listeners = new Set<ClusterListener>();
  private resourceVersionCounter = 1000;
  private uidCounter = 0;

  constructor(options: FakeKubernetesClusterOptions) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.namespace)) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_INVALID_NAMESPACE",
        `namespace "${options.namespace}" is not a valid Kubernetes name; use lower-case letters, digits and "-", starting and ending with a letter or digit`,
      );
    }
    this.namespace = options.namespace;
    this.now = options.now ?? (() => new Date());
    this.newUid =
      options.newUid ??
      (() => {
        this.uidCounter += 1;
        return `00000000-0000-4000-8000-${this.uidCounter.toString(16).padStart(12, "0")}`;
      });
  }

  /**
   * Creates the application's StatefulSet (named after the application), its first
   * ControllerRevision and `replicas` pods on it, none of them Ready yet.
   */
  deploy(app: string, options: DeployOptions): { statefulSet: FakeStatefulSet; changes: ClusterChange[] } {
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(app)) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_INVALID_APP_NAME",
        `application name "${app}" is not a valid Juju application name; use a lower-case letter followed by lower-case letters, digits and "-", e.g. "postgresql-k8s"`,
      );
    }
    if (this.apps.has(app)) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_APP_ALREADY_DEPLOYED",
        `application "${app}" is already deployed in namespace "${this.namespace}"; reach it with statefulSet("${app}") or deploy under another name`,
      );
    }
    const internals: ClusterInternals = {
      namespace: this.namespace,
      timestamp: () => wireTimestamp(this.now()),
      newUid: () => this.newUid(),
      nextResourceVersion: () => {
        this.resourceVersionCounter += 1;
        return String(this.resourceVersionCounter);
      },
      emit: (changes) => {
        for (const change of changes) for (const listener of [...this.listeners]) listener(change);
      },
    };
    const statefulSet = new FakeStatefulSet(app, options, internals);
    this.apps.set(app, statefulSet);
    const changes = statefulSet.takeInitialChanges();
    internals.emit(changes);
    return { statefulSet, changes };
  }

  /** The StatefulSet of an application, or undefined if it was never deployed. */
  findStatefulSet(app: string): FakeStatefulSet | undefined {
    return this.apps.get(app);
  }

  /** The StatefulSet of an application; throws if it was never deployed. */
  statefulSet(app: string): FakeStatefulSet {
    const found = this.apps.get(app);
    if (found === undefined) {
      throw new FakeClusterError("FAKE_CLUSTER_APP_NOT_DEPLOYED", `application "${app}" is not deployed in namespace "${this.namespace}"; call deploy() first`);
    }
    return found;
  }

  /** Names of the deployed applications. */
  applications(): string[] {
    return [...this.apps.keys()];
  }

  /** Calls `listener` with every change from now on; returns a function that unsubscribes. */
  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What a StatefulSet needs from its cluster. */
interface ClusterInternals {
  readonly namespace: string;
  timestamp(): string;
  newUid(): string;
  nextResourceVersion(): string;
  emit(changes: readonly ClusterChange[]): void;
}

/**
 * One application's StatefulSet and its pods, with the StatefulSet controller's rules
 * (RollingUpdate strategy with a partition, pod management policy `Parallel` as Juju uses).
 * Every mutating method returns the {@link ClusterChange}s it caused.
 */
export class FakeStatefulSet {
  /** Application name = StatefulSet name. */
  readonly app: string;
  /** `metadata.uid` of the StatefulSet. */
  readonly uid: string;
  private readonly cluster: ClusterInternals;
  private replicaCount: number;
  private partitionValue: number;
  private trustedValue: boolean;
  private template: PodTemplate;
  private generationValue = 1;
  private resourceVersionValue: string;
  private readonly creationTimestamp: string;
  private readonly revisionsByName = new Map<string, RevisionRecord>();
  private readonly podsByOrdinal = new Map<number, PodRecord>();
  private updateRevisionName: string;
  private currentRevisionName: string;
  private initialChanges: ClusterChange[] = [];

  /** @internal Use {@link FakeKubernetesCluster.deploy}. */
  constructor(app: string, options: DeployOptions, cluster: ClusterInternals) {
    assertReplicas(options.replicas);
    assertPartition(options.partition ?? 0);
    assertTemplate(options.template);
    this.app = app;
    this.cluster = cluster;
    this.uid = cluster.newUid();
    this.creationTimestamp = cluster.timestamp();
    this.resourceVersionValue = cluster.nextResourceVersion();
    this.replicaCount = options.replicas;
    this.partitionValue = options.partition ?? 0;
    this.trustedValue = options.trusted ?? false;
    this.template = cloneTemplate(options.template);
    const changes: ClusterChange[] = [];
    const revision = this.revisionFor(this.template, changes);
    this.updateRevisionName = revision.name;
    this.currentRevisionName = revision.name;
    for (let ordinal = 0; ordinal < this.replicaCount; ordinal += 1) this.createPod(ordinal, changes);
    this.initialChanges = changes;
  }

  /** @internal */
  takeInitialChanges(): ClusterChange[] {
    const changes = this.initialChanges;
    this.initialChanges = [];
    return changes;
  }

  // ---- reads -------------------------------------------------------------------------------

  /** `spec.replicas`. */
  get replicas(): number {
    return this.replicaCount;
  }

  /** `spec.updateStrategy.rollingUpdate.partition`. */
  get partition(): number {
    return this.partitionValue;
  }

  /** `status.updateRevision`: the revision pods at or above the partition move to. */
  get updateRevision(): string {
    return this.updateRevisionName;
  }

  /** `status.currentRevision`: the revision pods below the partition are (re)created on. */
  get currentRevision(): string {
    return this.currentRevisionName;
  }

  /** Whether the application was granted `juju trust` (may patch its StatefulSet). */
  get trusted(): boolean {
    return this.trustedValue;
  }

  /** `metadata.generation`: bumped by every spec change (template, replicas, partition). */
  get generation(): number {
    return this.generationValue;
  }

  /** `metadata.resourceVersion`: changes with every change of the object, spec or status. */
  get resourceVersion(): string {
    return this.resourceVersionValue;
  }

  /** The current pod template (`spec.template`). */
  get podTemplate(): PodTemplate {
    return cloneTemplate(this.template);
  }

  /** Snapshot of one pod, or undefined if no pod with this ordinal exists right now. */
  pod(ordinal: number): FakePod | undefined {
    const record = this.podsByOrdinal.get(ordinal);
    return record === undefined ? undefined : this.snapshot(record);
  }

  /** Snapshots of all existing pods (terminating ones included), lowest ordinal first. */
  pods(): FakePod[] {
    return [...this.podsByOrdinal.values()].sort((a, b) => a.ordinal - b.ordinal).map((record) => this.snapshot(record));
  }

  /** Snapshots of all ControllerRevisions, oldest revision number first. */
  revisions(): FakeControllerRevision[] {
    return [...this.revisionsByName.values()]
      .sort((a, b) => a.number - b.number)
      .map((record) => ({
        app: this.app,
        name: record.name,
        hash: record.hash,
        number: record.number,
        template: cloneTemplate(record.template),
        uid: record.uid,
        creationTimestamp: record.creationTimestamp,
        resourceVersion: record.resourceVersion,
      }));
  }

  /** The template a revision was made from; throws for an unknown revision name. */
  templateOf(revision: string): PodTemplate {
    const record = this.revisionsByName.get(revision);
    if (record === undefined) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_UNKNOWN_REVISION",
        `StatefulSet "${this.app}" has no ControllerRevision "${revision}"; use a name from revisions(), currentRevision or updateRevision`,
      );
    }
    return cloneTemplate(record.template);
  }

  /** Counts the StatefulSet controller reports in `status`. */
  statusCounts(): { replicas: number; readyReplicas: number; currentReplicas: number; updatedReplicas: number } {
    let replicas = 0;
    let readyReplicas = 0;
    let currentReplicas = 0;
    let updatedReplicas = 0;
    for (const pod of this.podsByOrdinal.values()) {
      replicas += 1;
      if (pod.ready && pod.deletionTimestamp === undefined) readyReplicas += 1;
      if (pod.revision === this.currentRevisionName) currentReplicas += 1;
      if (pod.revision === this.updateRevisionName) updatedReplicas += 1;
    }
    return { replicas, readyReplicas, currentReplicas, updatedReplicas };
  }

  /**
   * The ordinal of the pod the StatefulSet controller would delete next to move it to the
   * update revision, or undefined when it would wait or has nothing to do.
   *
   * Like the controller: it walks from the highest ordinal down to the partition; the first pod
   * not on the update revision (and not already terminating) is the one, but any pod on the way
   * that is not Running and Ready (or is terminating) makes it wait. A missing pod also makes it
   * wait (it gets recreated first).
   */
  nextPodToReplace(): number | undefined {
    for (let ordinal = this.replicaCount - 1; ordinal >= this.partitionValue; ordinal -= 1) {
      const pod = this.podsByOrdinal.get(ordinal);
      if (pod === undefined) return undefined;
      if (pod.revision !== this.updateRevisionName && pod.deletionTimestamp === undefined) return ordinal;
      if (!isHealthy(pod)) return undefined;
    }
    return undefined;
  }

  // ---- Juju-side actions ----------------------------------------------------------------------

  /**
   * What `juju refresh` does: replaces the pod template. A template deeply equal to an existing
   * revision reuses that revision (and, as Kubernetes does, gives it the next revision number);
   * otherwise a new ControllerRevision `<app>-<hash>` is created. Either way it becomes the
   * update revision. No pod is touched: ask {@link nextPodToReplace} what the controller does next.
   */
  applyTemplate(template: PodTemplate): ClusterChange[] {
    assertTemplate(template);
    const changes: ClusterChange[] = [];
    const previous = this.updateRevisionName;
    this.template = cloneTemplate(template);
    const revision = this.revisionFor(this.template, changes);
    if (revision.name !== previous) {
      this.updateRevisionName = revision.name;
      changes.push({ type: "update-revision-changed", app: this.app, from: previous, to: revision.name });
    }
    this.generationValue += 1;
    this.touch();
    this.completeRollingUpdate(changes);
    return this.publish(changes);
  }

  /**
   * Sets the partition (what a PATCH of `spec.updateStrategy.rollingUpdate.partition` does).
   * Pods already updated stay updated when it is raised.
   */
  setPartition(partition: number): ClusterChange[] {
    assertPartition(partition);
    const changes: ClusterChange[] = [];
    if (partition !== this.partitionValue) {
      changes.push({ type: "partition-changed", app: this.app, from: this.partitionValue, to: partition });
      this.partitionValue = partition;
      this.generationValue += 1;
    }
    // A no-op patch still writes the object (new resourceVersion), as the API server does.
    this.touch();
    return this.publish(changes);
  }

  /** Grants or revokes `juju trust`. */
  setTrusted(trusted: boolean): ClusterChange[] {
    const changes: ClusterChange[] = [];
    if (trusted !== this.trustedValue) {
      this.trustedValue = trusted;
      changes.push({ type: "trust-changed", app: this.app, trusted });
    }
    return this.publish(changes);
  }

  /**
   * Marks a pod Ready or not Ready (the model calls this after the unit's `start` hook, or to
   * simulate a failing readiness probe). Readiness gates the rolling update.
   */
  setReady(ordinal: number, ready: boolean): ClusterChange[] {
    const pod = this.requirePod(ordinal);
    const changes: ClusterChange[] = [];
    if (pod.deletionTimestamp !== undefined && ready) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_POD_TERMINATING",
        `pod ${this.podName(ordinal)} is terminating and cannot become Ready; call finishPodDeletion() first and mark the recreated pod Ready`,
      );
    }
    if (pod.ready !== ready) {
      pod.ready = ready;
      pod.containers = pod.containers.map((container) => ({ ...container, ready }));
      pod.resourceVersion = this.cluster.nextResourceVersion();
      changes.push({ type: "pod-ready-changed", app: this.app, ordinal, uid: pod.uid, ready });
      this.touch();
      this.completeRollingUpdate(changes);
    }
    return this.publish(changes);
  }

  /**
   * Overrides a container's `imageID` in the pod status, e.g. `""` to simulate an image that
   * has not been pulled yet (the library must treat the digest as unknown).
   */
  setContainerImageId(ordinal: number, container: string, imageID: string): void {
    const pod = this.requirePod(ordinal);
    this.requireContainer(pod, container);
    pod.containers = pod.containers.map((status) => (status.name === container ? { ...status, imageID } : status));
    pod.resourceVersion = this.cluster.nextResourceVersion();
  }

  /**
   * Restarts one container in place (a crash or a failed liveness probe): `restartCount` goes
   * up, the pod keeps its uid, revision and local (emptyDir) state, and is not Ready until the
   * model calls {@link setReady} again. Juju runs no hook for this in outdated units (LP 2073506).
   */
  restartContainer(ordinal: number, container: string): ClusterChange[] {
    const pod = this.requirePod(ordinal);
    this.requireContainer(pod, container);
    if (pod.deletionTimestamp !== undefined) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_POD_TERMINATING",
        `pod ${this.podName(ordinal)} is terminating; its containers are not restarted. Call finishPodDeletion() first and restart a container of the recreated pod`,
      );
    }
    pod.containers = pod.containers.map((status) =>
      status.name === container ? { ...status, restartCount: status.restartCount + 1, ready: false } : status,
    );
    pod.resourceVersion = this.cluster.nextResourceVersion();
    const changes: ClusterChange[] = [];
    if (pod.ready) {
      pod.ready = false;
      changes.push({ type: "pod-ready-changed", app: this.app, ordinal, uid: pod.uid, ready: false });
      this.touch();
    }
    return this.publish(changes);
  }

  /**
   * First half of a pod deletion: sets `deletionTimestamp` and makes the pod not Ready. The pod
   * stays listed (terminating pods are included in pod lists) until {@link finishPodDeletion};
   * in between the model runs the unit's `stop` hook.
   */
  startPodDeletion(ordinal: number, reason: PodDeletionReason): ClusterChange[] {
    const pod = this.requirePod(ordinal);
    if (pod.deletionTimestamp !== undefined) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_POD_TERMINATING",
        `pod ${this.podName(ordinal)} is already terminating; call finishPodDeletion() to complete its deletion`,
      );
    }
    const changes: ClusterChange[] = [];
    this.markDeleting(pod, reason, changes);
    this.touch();
    return this.publish(changes);
  }

  /**
   * Second half of a pod deletion: removes the terminating pod, and, if its ordinal is still
   * below `replicas`, the controller recreates it (new uid, not Ready) on the revision the
   * partition dictates at this moment: the current revision below the partition, the update
   * revision at or above it.
   */
  finishPodDeletion(ordinal: number): ClusterChange[] {
    const pod = this.requirePod(ordinal);
    if (pod.deletionTimestamp === undefined) {
      throw new FakeClusterError("FAKE_CLUSTER_POD_NOT_TERMINATING", `pod ${this.podName(ordinal)} is not terminating; call startPodDeletion() first`);
    }
    const changes: ClusterChange[] = [];
    this.podsByOrdinal.delete(ordinal);
    changes.push({ type: "pod-deleted", app: this.app, ordinal, uid: pod.uid, revision: pod.revision });
    if (ordinal < this.replicaCount) this.createPod(ordinal, changes);
    this.touch();
    this.completeRollingUpdate(changes);
    return this.publish(changes);
  }

  /** Finishes the deletion of every terminating pod, lowest ordinal first. */
  finishAllDeletions(): ClusterChange[] {
    const changes: ClusterChange[] = [];
    for (const pod of this.pods()) {
      if (pod.deletionTimestamp !== undefined) changes.push(...this.finishPodDeletion(pod.ordinal));
    }
    return changes;
  }

  /** Deletes a pod (`kubectl delete pod`) in one step; it comes back as {@link finishPodDeletion} says. */
  deletePod(ordinal: number, reason: PodDeletionReason = "deleted"): ClusterChange[] {
    return [...this.startPodDeletion(ordinal, reason), ...this.finishPodDeletion(ordinal)];
  }

  /** Evicts a pod (node drain, preemption) in one step; same rules as {@link deletePod}. */
  evict(ordinal: number): ClusterChange[] {
    return this.deletePod(ordinal, "evicted");
  }

  /**
   * Replaces a pod the way the rolling update does, in one step (use {@link startPodDeletion}
   * with reason "rolling-update" and {@link finishPodDeletion} to run hooks in between). Only
   * allowed for the pod {@link nextPodToReplace} names, so a test cannot move the rollout past
   * what Kubernetes would do.
   */
  replacePod(ordinal: number): ClusterChange[] {
    const next = this.nextPodToReplace();
    if (next !== ordinal) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_REPLACEMENT_OUT_OF_ORDER",
        next === undefined
          ? `the StatefulSet controller would not replace any pod of "${this.app}" now (partition ${this.partitionValue}); check readiness and the partition`
          : `the StatefulSet controller would replace pod ${this.podName(next)} next, not ${this.podName(ordinal)}; replace ${this.podName(next)} first`,
      );
    }
    return this.deletePod(ordinal, "rolling-update");
  }

  /**
   * Changes `spec.replicas`. Scaling up creates the missing pods at once (pod management
   * policy Parallel): on the current revision below the partition, on the update revision at or
   * above it. Scaling down starts the deletion of every pod at or above the new count (reason
   * "scale-down"); call {@link finishPodDeletion} for each once its `stop` hook ran.
   */
  scale(replicas: number): ClusterChange[] {
    assertReplicas(replicas);
    const changes: ClusterChange[] = [];
    if (replicas === this.replicaCount) return changes;
    changes.push({ type: "replicas-changed", app: this.app, from: this.replicaCount, to: replicas });
    this.replicaCount = replicas;
    this.generationValue += 1;
    for (let ordinal = 0; ordinal < replicas; ordinal += 1) {
      if (!this.podsByOrdinal.has(ordinal)) this.createPod(ordinal, changes);
    }
    for (const pod of [...this.podsByOrdinal.values()].sort((a, b) => b.ordinal - a.ordinal)) {
      if (pod.ordinal >= replicas && pod.deletionTimestamp === undefined) this.markDeleting(pod, "scale-down", changes);
    }
    this.touch();
    this.completeRollingUpdate(changes);
    return this.publish(changes);
  }

  /** The pod name for an ordinal: `<app>-<ordinal>`. */
  podName(ordinal: number): string {
    return `${this.app}-${ordinal}`;
  }

  // ---- internals ----------------------------------------------------------------------------

  private publish(changes: ClusterChange[]): ClusterChange[] {
    this.cluster.emit(changes);
    return changes;
  }

  private touch(): void {
    this.resourceVersionValue = this.cluster.nextResourceVersion();
  }

  private requirePod(ordinal: number): PodRecord {
    const pod = this.podsByOrdinal.get(ordinal);
    if (pod === undefined) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_UNKNOWN_POD",
        `StatefulSet "${this.app}" has no pod ${this.podName(ordinal)} right now; use an ordinal from pods(), or scale() up first`,
      );
    }
    return pod;
  }

  private requireContainer(pod: PodRecord, container: string): void {
    if (!pod.containers.some((status) => status.name === container)) {
      throw new FakeClusterError("FAKE_CLUSTER_UNKNOWN_CONTAINER", unknownContainerMessage(this.podName(pod.ordinal), container, pod.containers));
    }
  }

  /**
   * Starts a pod's deletion the way the controller or the API does: `deletionTimestamp` and
   * reason set, and a Ready pod (with its containers) stops being Ready. Shared by
   * {@link startPodDeletion} and {@link scale} so a scale-down terminates pods the same way.
   */
  private markDeleting(pod: PodRecord, reason: PodDeletionReason, changes: ClusterChange[]): void {
    pod.deletionTimestamp = this.cluster.timestamp();
    pod.deletionReason = reason;
    pod.resourceVersion = this.cluster.nextResourceVersion();
    changes.push({ type: "pod-deleting", app: this.app, ordinal: pod.ordinal, uid: pod.uid, revision: pod.revision, reason });
    if (pod.ready) {
      pod.ready = false;
      pod.containers = pod.containers.map((container) => ({ ...container, ready: false }));
      changes.push({ type: "pod-ready-changed", app: this.app, ordinal: pod.ordinal, uid: pod.uid, ready: false });
    }
  }

  /** Finds the revision equal to `template`, or creates it; reuse bumps its number like Kubernetes. */
  private revisionFor(template: PodTemplate, changes: ClusterChange[]): RevisionRecord {
    const canonical = canonicalJson(template);
    let highest = 0;
    for (const record of this.revisionsByName.values()) highest = Math.max(highest, record.number);
    for (const record of this.revisionsByName.values()) {
      if (record.canonical === canonical) {
        if (record.number !== highest) {
          record.number = highest + 1;
          record.resourceVersion = this.cluster.nextResourceVersion();
        }
        return record;
      }
    }
    let collision = 0;
    let hash = revisionHash(canonical, collision);
    while (this.revisionsByName.has(`${this.app}-${hash}`)) {
      collision += 1;
      hash = revisionHash(canonical, collision);
    }
    const record: RevisionRecord = {
      name: `${this.app}-${hash}`,
      hash,
      number: highest + 1,
      template: cloneTemplate(template),
      canonical,
      uid: this.cluster.newUid(),
      creationTimestamp: this.cluster.timestamp(),
      resourceVersion: this.cluster.nextResourceVersion(),
    };
    this.revisionsByName.set(record.name, record);
    changes.push({ type: "revision-created", app: this.app, revision: record.name, number: record.number });
    return record;
  }

  /** Which revision the controller gives a pod it creates with this ordinal. */
  private revisionForNewPod(ordinal: number): string {
    return ordinal < this.partitionValue ? this.currentRevisionName : this.updateRevisionName;
  }

  private createPod(ordinal: number, changes: ClusterChange[]): void {
    const revisionName = this.revisionForNewPod(ordinal);
    const revision = this.revisionsByName.get(revisionName);
    if (revision === undefined) {
      throw new FakeClusterError("FAKE_CLUSTER_INTERNAL", `internal: revision ${revisionName} vanished; this is a bug in @refresh/testing, please report it`);
    }
    const record: PodRecord = {
      ordinal,
      uid: this.cluster.newUid(),
      revision: revisionName,
      ready: false,
      deletionTimestamp: undefined,
      deletionReason: undefined,
      creationTimestamp: this.cluster.timestamp(),
      resourceVersion: this.cluster.nextResourceVersion(),
      containers: revision.template.containers.map((container) => ({
        name: container.name,
        image: container.image,
        imageID: imageIdFor(container.image),
        ready: false,
        restartCount: 0,
      })),
      annotations: { ...(revision.template.annotations ?? {}) },
    };
    this.podsByOrdinal.set(ordinal, record);
    changes.push({ type: "pod-created", app: this.app, ordinal, uid: record.uid, revision: revisionName });
  }

  /**
   * Kubernetes' completeRollingUpdate: once every one of `replicas` pods is on the update
   * revision and Ready, the update revision becomes the current revision.
   */
  private completeRollingUpdate(changes: ClusterChange[]): void {
    if (this.currentRevisionName === this.updateRevisionName) return;
    const counts = this.statusCounts();
    if (
      counts.replicas === this.replicaCount &&
      counts.updatedReplicas === this.replicaCount &&
      counts.readyReplicas === this.replicaCount
    ) {
      changes.push({ type: "current-revision-changed", app: this.app, from: this.currentRevisionName, to: this.updateRevisionName });
      this.currentRevisionName = this.updateRevisionName;
      this.touch();
    }
  }

  private snapshot(record: PodRecord): FakePod {
    return {
      app: this.app,
      name: this.podName(record.ordinal),
      ordinal: record.ordinal,
      uid: record.uid,
      revision: record.revision,
      phase: "Running",
      ready: record.ready,
      deletionTimestamp: record.deletionTimestamp,
      creationTimestamp: record.creationTimestamp,
      resourceVersion: record.resourceVersion,
      containers: record.containers.map((container) => ({ ...container })),
      annotations: { ...record.annotations },
    };
  }
}

function isHealthy(pod: PodRecord): boolean {
  return pod.ready && pod.deletionTimestamp === undefined;
}

function unknownContainerMessage(pod: string, container: string, containers: readonly { readonly name: string }[]): string {
  return `pod ${pod} has no container "${container}"; use one of: ${containers.map((status) => `"${status.name}"`).join(", ")}`;
}

function assertReplicas(replicas: number): void {
  if (!Number.isSafeInteger(replicas) || replicas < 0) {
    throw new FakeClusterError("FAKE_CLUSTER_INVALID_REPLICAS", `replicas must be a whole number ≥ 0, got ${replicas}; pass a whole number`);
  }
}

function assertPartition(partition: number): void {
  if (!Number.isSafeInteger(partition) || partition < 0 || partition > 2 ** 31 - 1) {
    throw new FakeClusterError(
      "FAKE_CLUSTER_INVALID_PARTITION",
      `partition must be a whole number between 0 and 2147483647, got ${partition}; pass a whole number in that range`,
    );
  }
}

function assertTemplate(template: PodTemplate): void {
  if (template.containers.length === 0) throw new FakeClusterError("FAKE_CLUSTER_INVALID_TEMPLATE", "a pod template needs at least one container; add one to containers");
  const names = new Set<string>();
  for (const container of template.containers) {
    if (names.has(container.name)) {
      throw new FakeClusterError("FAKE_CLUSTER_INVALID_TEMPLATE", `pod template lists container "${container.name}" twice; give each container its own name`);
    }
    names.add(container.name);
    if (container.image.trim() === "") {
      throw new FakeClusterError("FAKE_CLUSTER_INVALID_TEMPLATE", `container "${container.name}" has an empty image; set an image reference such as "postgres:16"`);
    }
  }
}

function cloneTemplate(template: PodTemplate): PodTemplate {
  return {
    ...(template.annotations === undefined ? {} : { annotations: { ...template.annotations } }),
    containers: template.containers.map((container) => ({ name: container.name, image: container.image })),
  };
}

/** JSON with sorted object keys, so equal templates compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Characters Kubernetes uses in generated name suffixes (no vowels, no look-alikes). */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function revisionHash(canonical: string, collision: number): string {
  const digest = createHash("sha256").update(canonical).update(`#${collision}`).digest();
  let hash = "";
  for (let index = 0; index < 10; index += 1) hash += SAFE_ALPHABET[(digest[index] ?? 0) % SAFE_ALPHABET.length];
  return hash;
}

/** The `imageID` a container status reports for an image reference. */
export function imageIdFor(image: string): string {
  if (image.includes("@sha256:")) return image;
  const withoutTag = image.replace(/:[^/:]+$/, "");
  return `${withoutTag}@sha256:${createHash("sha256").update(image).digest("hex")}`;
}
