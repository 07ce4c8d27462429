import type { CharmPodTemplate, SimulatedPod, StatefulSetDriver } from "../model/kubernetes-workload.js";
import { FakeClusterError } from "./cluster.js";
import type { FakeKubernetesCluster, FakePod, FakeStatefulSet, PodTemplate } from "./cluster.js";

/** Annotation Juju bumps on every charm refresh, so each `juju refresh` is a new ControllerRevision. */
const MODIFIED_VERSION = "charm.juju.is/modified-version";
/** Where this adapter keeps the charm revision in the pod template (simulator bookkeeping). */
const CHARM_REVISION = "simulator.refresh.juju.is/charm-revision";
const DEFAULT_CHARM_IMAGE = "jujusolutions/charm-base:ubuntu-22.04";

/** Options of {@link ClusterStatefulSetDriver.deploy}. */
export interface ClusterStatefulSetDriverOptions {
  /** Name of the workload container (default `workload`); the image of the template runs there. */
  readonly workloadContainer?: string;
  /** Image of the `charm` container (default the Juju charm base image). */
  readonly charmImage?: string;
  /** `juju trust` at deploy time (default true: most tests want a working partition patch). */
  readonly trusted?: boolean;
}

/**
 * The simulator's {@link StatefulSetDriver} backed by a {@link FakeKubernetesCluster}, so the
 * model and the fake API server see one StatefulSet: partition patches made by charms over
 * HTTPS are what the model rolls, and pods the model creates are what charms list.
 *
 * `deletePod` behaves like `kubectl delete pod`: the controller recreates the pod at once, on
 * the revision the partition dictates, and `createPod` then returns it. To remove a unit's pod
 * for good (scale-down), call {@link removePod}.
 */
export class ClusterStatefulSetDriver implements StatefulSetDriver {
  /** The StatefulSet in the fake cluster (for readiness, eviction, faults). */
  readonly statefulSet: FakeStatefulSet;
  private readonly workloadContainer: string;
  private readonly charmImage: string;
  private modifiedVersion = 0;

  private constructor(statefulSet: FakeStatefulSet, options: ClusterStatefulSetDriverOptions) {
    this.statefulSet = statefulSet;
    this.workloadContainer = options.workloadContainer ?? "workload";
    this.charmImage = options.charmImage ?? DEFAULT_CHARM_IMAGE;
  }

  /** Deploys `app` with no pods yet (the simulator creates one per unit with {@link createPod}). */
  static deploy(
    cluster: FakeKubernetesCluster,
    app: string,
    initial: CharmPodTemplate,
    options: ClusterStatefulSetDriverOptions = {},
  ): ClusterStatefulSetDriver {
    const first = podTemplate(initial, 1, options.workloadContainer ?? "workload", options.charmImage ?? DEFAULT_CHARM_IMAGE);
    const { statefulSet } = cluster.deploy(app, { template: first, replicas: 0, trusted: options.trusted ?? true });
    const driver = new ClusterStatefulSetDriver(statefulSet, options);
    driver.modifiedVersion = 1;
    return driver;
  }

  /** `status.updateRevision`. */
  get updateRevision(): string {
    return this.statefulSet.updateRevision;
  }

  /** `status.currentRevision`. */
  get currentRevision(): string {
    return this.statefulSet.currentRevision;
  }

  /** The partition, wherever it was set from (model or a charm's PATCH). */
  get partition(): number {
    return this.statefulSet.partition;
  }

  /** `juju refresh`: always a new ControllerRevision, because Juju bumps the modified-version annotation. */
  applyTemplate(template: CharmPodTemplate): string {
    this.modifiedVersion += 1;
    this.statefulSet.applyTemplate(podTemplate(template, this.modifiedVersion, this.workloadContainer, this.charmImage));
    return this.statefulSet.updateRevision;
  }

  /** The charm revision and workload image a ControllerRevision stands for. */
  templateOf(revision: string): CharmPodTemplate {
    const template = this.statefulSet.templateOf(revision);
    const charmRevision = Number(template.annotations?.[CHARM_REVISION]);
    const image = template.containers.find((container) => container.name === this.workloadContainer)?.image;
    if (!Number.isSafeInteger(charmRevision) || image === undefined) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_FOREIGN_REVISION",
        `ControllerRevision ${revision} was not made by this driver; pass a revision returned by this driver's applyTemplate(), currentRevision or updateRevision`,
      );
    }
    return { charmRevision, image };
  }

  /** All pods, lowest ordinal first. */
  pods(): SimulatedPod[] {
    return this.statefulSet.pods().map(simulated);
  }

  /**
   * The pod with this ordinal: the existing one (e.g. just recreated after {@link deletePod}),
   * or a new one created by scaling the StatefulSet up to include it.
   */
  createPod(ordinal: number): SimulatedPod {
    const existing = this.statefulSet.pod(ordinal);
    if (existing !== undefined && existing.deletionTimestamp !== undefined) this.statefulSet.finishPodDeletion(ordinal);
    if (this.statefulSet.pod(ordinal) === undefined) {
      if (ordinal < this.statefulSet.replicas) {
        throw new FakeClusterError(
          "FAKE_CLUSTER_INTERNAL",
          `pod ${this.statefulSet.podName(ordinal)} is missing although it is below replicas; this is a bug in @refresh/testing, please report it`,
        );
      }
      this.statefulSet.scale(ordinal + 1);
    }
    const pod = this.statefulSet.pod(ordinal);
    if (pod === undefined) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_INTERNAL",
        `pod ${this.statefulSet.podName(ordinal)} could not be created; this is a bug in @refresh/testing, please report it`,
      );
    }
    return simulated(pod);
  }

  /** Deletes the pod; the StatefulSet controller recreates it right away (see the class notes). */
  deletePod(ordinal: number): void {
    const pod = this.statefulSet.pod(ordinal);
    if (pod === undefined) return;
    if (pod.deletionTimestamp === undefined) this.statefulSet.startPodDeletion(ordinal, "deleted");
    this.statefulSet.finishPodDeletion(ordinal);
  }

  /**
   * Removes the pod for good: scales the StatefulSet down to `ordinal` (Kubernetes removes the
   * highest ordinals, so only the highest pod can be removed this way).
   */
  removePod(ordinal: number): void {
    if (ordinal !== this.statefulSet.replicas - 1) {
      throw new FakeClusterError(
        "FAKE_CLUSTER_REMOVAL_OUT_OF_ORDER",
        `only the highest pod (${this.statefulSet.podName(this.statefulSet.replicas - 1)}) can be removed by scaling down, not ${this.statefulSet.podName(ordinal)}; remove pods from the highest ordinal down`,
      );
    }
    this.statefulSet.scale(ordinal);
    this.statefulSet.finishAllDeletions();
  }

  /** Marks a pod Ready or not. */
  setReady(ordinal: number, ready: boolean): void {
    if (this.statefulSet.pod(ordinal)?.deletionTimestamp === undefined) this.statefulSet.setReady(ordinal, ready);
  }

  /** Sets the partition (the model's shortcut for what a charm does with a PATCH). */
  setPartition(partition: number): void {
    this.statefulSet.setPartition(partition);
  }

  /** The pod the StatefulSet controller replaces next, highest ordinal first (see {@link FakeStatefulSet.nextPodToReplace}). */
  nextPodToReplace(): SimulatedPod | undefined {
    const ordinal = this.statefulSet.nextPodToReplace();
    const pod = ordinal === undefined ? undefined : this.statefulSet.pod(ordinal);
    return pod === undefined ? undefined : simulated(pod);
  }

}

function podTemplate(template: CharmPodTemplate, modifiedVersion: number, workloadContainer: string, charmImage: string): PodTemplate {
  return {
    annotations: { [MODIFIED_VERSION]: String(modifiedVersion), [CHARM_REVISION]: String(template.charmRevision) },
    containers: [
      { name: "charm", image: charmImage },
      { name: workloadContainer, image: template.image },
    ],
  };
}

function simulated(pod: FakePod): SimulatedPod {
  return { ordinal: pod.ordinal, uid: pod.uid, revision: pod.revision, ready: pod.ready };
}
