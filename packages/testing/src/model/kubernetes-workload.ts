import { SimulatorError } from "./errors.js";

/** What a pod runs: the charm revision (charm container) and the workload image. */
export interface CharmPodTemplate {
  readonly charmRevision: number;
  readonly image: string;
}

/** One pod of the application's StatefulSet, as the simulator needs to see it. */
export interface SimulatedPod {
  readonly ordinal: number;
  readonly uid: string;
  /** The ControllerRevision the pod was created from (`controller-revision-hash`). */
  readonly revision: string;
  readonly ready: boolean;
}

/**
 * The StatefulSet rules the simulator relies on: templates become ControllerRevisions, pods are
 * (re)created at the revision the partition dictates, and readiness gates the rollout. The
 * default implementation is in memory; the fake Kubernetes cluster can stand in for it.
 */
export interface StatefulSetDriver {
  readonly updateRevision: string;
  readonly currentRevision: string;
  readonly partition: number;
  /** `juju refresh`: a new pod template, hence a new ControllerRevision (always, as Juju also changes annotations). */
  applyTemplate(template: CharmPodTemplate): string;
  templateOf(revision: string): CharmPodTemplate;
  pods(): SimulatedPod[];
  /** Creates pod `<ordinal>` at `updateRevision` when ordinal ≥ partition, else at `currentRevision`. */
  createPod(ordinal: number): SimulatedPod;
  deletePod(ordinal: number): void;
  /**
   * Scale-down: removes the pod for good. Optional; without it the simulator calls
   * {@link deletePod}, which is enough for drivers that do not recreate deleted pods.
   */
  removePod?(ordinal: number): void;
  setReady(ordinal: number, ready: boolean): void;
  /** What the charm does through the API (`PATCH …/statefulsets/<app>`). */
  setPartition(partition: number): void;
}

/** An in-memory StatefulSet with Kubernetes' RollingUpdate rules. */
export class InMemoryStatefulSet implements StatefulSetDriver {
  private readonly revisions = new Map<string, CharmPodTemplate>();
  private readonly podsByOrdinal = new Map<number, SimulatedPod>();
  private revisionCounter = 0;
  private uidCounter = 0;
  updateRevision: string;
  currentRevision: string;
  partition = 0;

  constructor(
    private readonly appName: string,
    initial: CharmPodTemplate,
  ) {
    this.updateRevision = this.addRevision(initial);
    this.currentRevision = this.updateRevision;
  }

  private addRevision(template: CharmPodTemplate): string {
    this.revisionCounter += 1;
    const name = `${this.appName}-${(0x5f3759 + this.revisionCounter * 7919).toString(16)}`;
    this.revisions.set(name, template);
    return name;
  }

  applyTemplate(template: CharmPodTemplate): string {
    this.updateRevision = this.addRevision(template);
    return this.updateRevision;
  }

  templateOf(revision: string): CharmPodTemplate {
    const template = this.revisions.get(revision);
    if (template === undefined) {
      throw new SimulatorError(
        "SIM_UNKNOWN_REVISION",
        `StatefulSet ${this.appName} has no ControllerRevision ${revision}; pass a pod's revision, currentRevision or updateRevision`,
      );
    }
    return template;
  }

  pods(): SimulatedPod[] {
    return [...this.podsByOrdinal.values()].sort((a, b) => a.ordinal - b.ordinal);
  }

  createPod(ordinal: number): SimulatedPod {
    this.uidCounter += 1;
    const pod: SimulatedPod = {
      ordinal,
      uid: `00000000-0000-4000-8000-${this.uidCounter.toString(16).padStart(12, "0")}`,
      revision: ordinal >= this.partition ? this.updateRevision : this.currentRevision,
      ready: false,
    };
    this.podsByOrdinal.set(ordinal, pod);
    this.settleCurrentRevision();
    return pod;
  }

  deletePod(ordinal: number): void {
    this.podsByOrdinal.delete(ordinal);
    this.settleCurrentRevision();
  }

  setReady(ordinal: number, ready: boolean): void {
    const pod = this.podsByOrdinal.get(ordinal);
    if (pod !== undefined) this.podsByOrdinal.set(ordinal, { ...pod, ready });
  }

  setPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0) {
      throw new SimulatorError(
        "SIM_INVALID_PARTITION",
        `partition must be a whole number of 0 or more, got ${partition}; pass the lowest ordinal that may update (0 lets every pod update)`,
      );
    }
    this.partition = partition;
  }

  private settleCurrentRevision(): void {
    const pods = this.pods();
    if (pods.length > 0 && pods.every((pod) => pod.revision === this.updateRevision)) this.currentRevision = this.updateRevision;
  }
}

/**
 * Kubernetes' rolling-update choice: the highest-ordinal pod at or above the partition that is
 * not on `updateRevision`, provided every pod above it is updated and Ready. Undefined when
 * the rollout is finished, held by the partition, or waiting for readiness.
 */
export function nextPodToUpdate(statefulSet: StatefulSetDriver): SimulatedPod | undefined {
  const pods = statefulSet.pods().sort((a, b) => b.ordinal - a.ordinal);
  for (const pod of pods) {
    if (pod.ordinal < statefulSet.partition) return undefined;
    if (pod.revision !== statefulSet.updateRevision) return pod;
    if (!pod.ready) return undefined;
  }
  return undefined;
}
