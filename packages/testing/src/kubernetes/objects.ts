import { APP_NAME_LABEL, REVISION_HASH_LABEL } from "./cluster.js";
import type { FakeControllerRevision, FakePod, FakeStatefulSet, PodTemplate } from "./cluster.js";

/** A Kubernetes object as JSON. */
export type KubernetesObject = Record<string, unknown>;

/** Labels of every pod of `app` (the StatefulSet selector is the first one). */
export function podLabels(pod: FakePod): Record<string, string> {
  return {
    [APP_NAME_LABEL]: pod.app,
    "app.kubernetes.io/managed-by": "juju",
    [REVISION_HASH_LABEL]: pod.revision,
    "statefulset.kubernetes.io/pod-name": pod.name,
    "apps.kubernetes.io/pod-index": String(pod.ordinal),
  };
}

/** Labels of the StatefulSet Juju creates for `app`; list selectors match against these. */
export function statefulSetLabels(app: string): Record<string, string> {
  return { [APP_NAME_LABEL]: app, "app.kubernetes.io/managed-by": "juju" };
}

/** Labels of a ControllerRevision; list selectors match against these. */
export function revisionLabels(revision: FakeControllerRevision): Record<string, string> {
  return { [APP_NAME_LABEL]: revision.app, "controller.kubernetes.io/hash": revision.hash };
}

function templateSpec(template: PodTemplate, app: string): KubernetesObject {
  return {
    metadata: {
      labels: { [APP_NAME_LABEL]: app },
      ...(template.annotations === undefined ? {} : { annotations: { ...template.annotations } }),
    },
    spec: {
      serviceAccountName: app,
      containers: template.containers.map((container) => ({ name: container.name, image: container.image })),
    },
  };
}

/** The StatefulSet as `GET /apis/apps/v1/namespaces/{ns}/statefulsets/{app}` returns it. */
export function statefulSetJson(statefulSet: FakeStatefulSet, namespace: string): KubernetesObject {
  const counts = statefulSet.statusCounts();
  return {
    kind: "StatefulSet",
    apiVersion: "apps/v1",
    metadata: {
      name: statefulSet.app,
      namespace,
      uid: statefulSet.uid,
      resourceVersion: statefulSet.resourceVersion,
      generation: statefulSet.generation,
      labels: statefulSetLabels(statefulSet.app),
    },
    spec: {
      replicas: statefulSet.replicas,
      selector: { matchLabels: { [APP_NAME_LABEL]: statefulSet.app } },
      serviceName: `${statefulSet.app}-endpoints`,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: statefulSet.partition } },
      revisionHistoryLimit: 10,
      template: templateSpec(statefulSet.podTemplate, statefulSet.app),
    },
    status: {
      observedGeneration: statefulSet.generation,
      replicas: counts.replicas,
      readyReplicas: counts.readyReplicas,
      availableReplicas: counts.readyReplicas,
      currentReplicas: counts.currentReplicas,
      updatedReplicas: counts.updatedReplicas,
      currentRevision: statefulSet.currentRevision,
      updateRevision: statefulSet.updateRevision,
      collisionCount: 0,
    },
  };
}

/** A pod as `GET /api/v1/namespaces/{ns}/pods/{name}` returns it. */
export function podJson(pod: FakePod, statefulSet: FakeStatefulSet, namespace: string): KubernetesObject {
  const ready = pod.ready ? "True" : "False";
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: pod.name,
      namespace,
      uid: pod.uid,
      resourceVersion: pod.resourceVersion,
      creationTimestamp: pod.creationTimestamp,
      ...(pod.deletionTimestamp === undefined ? {} : { deletionTimestamp: pod.deletionTimestamp, deletionGracePeriodSeconds: 30 }),
      labels: podLabels(pod),
      annotations: { ...pod.annotations },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: statefulSet.app, uid: statefulSet.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      hostname: pod.name,
      subdomain: `${pod.app}-endpoints`,
      serviceAccountName: pod.app,
      containers: pod.containers.map((container) => ({ name: container.name, image: container.image })),
    },
    status: {
      phase: pod.phase,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: pod.creationTimestamp },
        { type: "Initialized", status: "True", lastTransitionTime: pod.creationTimestamp },
        { type: "ContainersReady", status: ready, lastTransitionTime: pod.creationTimestamp },
        { type: "Ready", status: ready, lastTransitionTime: pod.creationTimestamp },
      ],
      startTime: pod.creationTimestamp,
      containerStatuses: pod.containers.map((container) => ({
        name: container.name,
        image: container.image,
        imageID: container.imageID,
        ready: container.ready,
        started: true,
        restartCount: container.restartCount,
        state: { running: { startedAt: pod.creationTimestamp } },
      })),
    },
  };
}

/** A ControllerRevision as `GET …/controllerrevisions/{name}` returns it. */
export function controllerRevisionJson(revision: FakeControllerRevision, statefulSet: FakeStatefulSet, namespace: string): KubernetesObject {
  const spec = templateSpec(revision.template, revision.app);
  return {
    kind: "ControllerRevision",
    apiVersion: "apps/v1",
    metadata: {
      name: revision.name,
      namespace,
      uid: revision.uid,
      resourceVersion: revision.resourceVersion,
      creationTimestamp: revision.creationTimestamp,
      labels: revisionLabels(revision),
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: statefulSet.app, uid: statefulSet.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    // Kubernetes stores the template as a patch that replaces the whole template.
    data: { spec: { template: { ...spec, $patch: "replace" } } },
    revision: revision.number,
  };
}

/** Wraps items in a `<Kind>List`. */
export function listJson(kind: string, apiVersion: string, resourceVersion: string, items: KubernetesObject[]): KubernetesObject {
  return { kind: `${kind}List`, apiVersion, metadata: { resourceVersion }, items };
}

/** Details of a Kubernetes `Status` error object. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
}

/** A `Status` object, the body of every error response of the API server. */
export function statusJson(code: number, reason: string, message: string, details?: StatusDetails): KubernetesObject {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
}
