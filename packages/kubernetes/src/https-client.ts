import { Agent, request } from "node:https";
import { englishIssues } from "@refresh/core";
import * as z from "zod/mini";
import type { KubernetesApi, PodState, StatefulSetState } from "./api.js";
import type { InClusterConfig } from "./in-cluster.js";
import { KubernetesApiError } from "./errors.js";

/** Options of {@link createHttpsKubernetesApi}. */
export interface HttpsKubernetesApiOptions {
  /** Connection details, from `loadInClusterConfig`. */
  readonly config: InClusterConfig;
  /** Juju application name: the StatefulSet's name and the pods' `app.kubernetes.io/name`. */
  readonly appName: string;
  /**
   * Deadline for one request, response body included, in milliseconds.
   * @default 20000
   */
  readonly timeoutMs?: number;
}

const statefulSetSchema = z.object({
  spec: z.optional(
    z.object({
      updateStrategy: z.optional(z.object({ rollingUpdate: z.optional(z.object({ partition: z.optional(z.int().check(z.nonnegative())) })) })),
    }),
  ),
  status: z.object({ updateRevision: z.string().check(z.minLength(1)) }),
});

const podListSchema = z.object({
  items: z.array(
    z.object({
      metadata: z.object({
        name: z.string(),
        uid: z.string().check(z.minLength(1)),
        labels: z.optional(z.record(z.string(), z.string())),
      }),
      status: z.optional(
        z.object({
          containerStatuses: z.nullish(z.array(z.object({ name: z.string(), imageID: z.optional(z.string()) }))),
        }),
      ),
    }),
  ),
});

const accessReviewSchema = z.object({ status: z.object({ allowed: z.boolean() }) });

/** Kubernetes `Status` object, the body of most error responses. */
const statusBodySchema = z.object({ message: z.optional(z.string()), reason: z.optional(z.string()) });

/**
 * A small typed client over `node:https` for the four calls the refresh makes. TLS is
 * verified against the cluster CA; one keep-alive connection serves all calls of an event.
 * Every response body is validated before use.
 */
export function createHttpsKubernetesApi(options: HttpsKubernetesApiOptions): KubernetesApi {
  const { config, appName } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const agent = new Agent({ ca: config.ca, keepAlive: true, maxSockets: 1 });
  const namespace = encodeURIComponent(config.namespace);
  const statefulSetPath = `/apis/apps/v1/namespaces/${namespace}/statefulsets/${encodeURIComponent(appName)}`;
  const server = `https://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;

  async function call<T>(
    method: "GET" | "POST" | "PATCH",
    path: string,
    schema: z.core.$ZodType<T>,
    what: string,
    body?: { contentType: string; value: unknown },
  ): Promise<T> {
    const { status, text } = await send(method, path, what, body);
    if (status < 200 || status > 299) {
      throw errorForStatus(status, text, what, appName);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new KubernetesApiError("KUBERNETES_UNEXPECTED_RESPONSE", `the Kubernetes API server answered ${what} with a body that is not JSON; Juju retries the hook`, { status, cause });
    }
    const parsed = z.safeParse(schema, json, englishIssues);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; ");
      throw new KubernetesApiError(
        "KUBERNETES_UNEXPECTED_RESPONSE",
        `the Kubernetes API server answered ${what} with an unexpected body (${problems}); Juju retries the hook, and if this persists the cluster's API version may not be supported`,
        { status },
      );
    }
    return parsed.data;
  }

  function send(
    method: string,
    path: string,
    what: string,
    body?: { contentType: string; value: unknown },
  ): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body.value);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: config.host,
          port: config.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${config.token}`,
            accept: "application/json",
            ...(payload === undefined
              ? {}
              : { "content-type": body?.contentType, "content-length": Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
          });
          response.on("error", (cause) => {
            clearTimeout(timer);
            reject(unreachable(cause, what));
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(
          new KubernetesApiError(
            "KUBERNETES_TIMEOUT",
            `the Kubernetes API server at ${server} did not answer ${what} within ${timeoutMs} ms; Juju retries the hook, check the cluster's health if this persists`,
          ),
        );
      }, timeoutMs);
      req.on("error", (cause) => {
        clearTimeout(timer);
        reject(cause instanceof KubernetesApiError ? cause : unreachable(cause, what));
      });
      req.end(payload);
    });
  }

  function unreachable(cause: unknown, what: string): KubernetesApiError {
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : "unknown error";
    return new KubernetesApiError(
      "KUBERNETES_UNREACHABLE",
      `cannot reach the Kubernetes API server at ${server} for ${what} (${code}); Juju retries the hook, check the cluster's health and its CA certificate if this persists`,
      { cause },
    );
  }

  function toStatefulSetState(body: z.infer<typeof statefulSetSchema>): StatefulSetState {
    return {
      updateRevision: body.status.updateRevision,
      // The API server defaults the partition to 0 when RollingUpdate has none.
      partition: body.spec?.updateStrategy?.rollingUpdate?.partition ?? 0,
    };
  }

  return {
    async mayPatchStatefulSet() {
      const review = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", accessReviewSchema, "the access review", {
        contentType: "application/json",
        value: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: { namespace: config.namespace, verb: "patch", group: "apps", resource: "statefulsets", name: appName },
          },
        },
      });
      return review.status.allowed;
    },

    async readStatefulSet() {
      return toStatefulSetState(await call("GET", statefulSetPath, statefulSetSchema, `the read of StatefulSet ${appName}`));
    },

    async listPods() {
      const selector = encodeURIComponent(`app.kubernetes.io/name=${appName}`);
      const list = await call("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`, podListSchema, `the list of ${appName}'s pods`);
      return list.items.map((item): PodState => {
        const revision = item.metadata.labels?.["controller-revision-hash"];
        if (revision === undefined || revision === "") {
          throw new KubernetesApiError(
            "KUBERNETES_UNEXPECTED_RESPONSE",
            `pod ${item.metadata.name} has no controller-revision-hash label yet; Juju retries the hook`,
          );
        }
        return {
          name: item.metadata.name,
          uid: item.metadata.uid,
          controllerRevision: revision,
          containers: (item.status?.containerStatuses ?? []).map((container) => ({ name: container.name, imageId: container.imageID ?? "" })),
        };
      });
    },

    async patchPartition(partition) {
      const body = await call("PATCH", statefulSetPath, statefulSetSchema, `the partition patch of StatefulSet ${appName}`, {
        contentType: "application/merge-patch+json",
        value: { spec: { updateStrategy: { rollingUpdate: { partition } } } },
      });
      return toStatefulSetState(body);
    },
  };
}

function errorForStatus(status: number, text: string, what: string, appName: string): KubernetesApiError {
  let serverMessage = "";
  try {
    const parsed = z.safeParse(statusBodySchema, JSON.parse(text));
    if (parsed.success && parsed.data.message !== undefined) {
      serverMessage = `: ${parsed.data.message}`;
    }
  } catch {
    // A non-JSON error body (401 often has none) adds nothing the status code does not say.
  }
  if (status === 401) {
    return new KubernetesApiError(
      "KUBERNETES_UNAUTHORIZED",
      `the Kubernetes API server rejected the service-account token for ${what} (401${serverMessage}); Juju retries the hook, and kubelet rotates the token, so this usually clears by itself`,
      { status },
    );
  }
  if (status === 403) {
    return new KubernetesApiError(
      "KUBERNETES_FORBIDDEN",
      `the Kubernetes API server refused ${what} (403${serverMessage}); run \`juju trust ${appName} --scope=cluster\` so the charm may manage its StatefulSet`,
      { status, resolution: `juju trust ${appName} --scope=cluster` },
    );
  }
  if (status === 404) {
    return new KubernetesApiError("KUBERNETES_NOT_FOUND", `the Kubernetes API server found nothing for ${what} (404${serverMessage}); Juju retries the hook`, { status });
  }
  if (status === 409) {
    return new KubernetesApiError("KUBERNETES_CONFLICT", `${what} conflicted with another change (409${serverMessage}); Juju retries the hook`, { status });
  }
  if (status >= 500) {
    return new KubernetesApiError(
      "KUBERNETES_SERVER_ERROR",
      `the Kubernetes API server failed ${what} (${status}${serverMessage}); Juju retries the hook, check the cluster's health if this persists`,
      { status },
    );
  }
  return new KubernetesApiError("KUBERNETES_UNEXPECTED_RESPONSE", `the Kubernetes API server answered ${what} with HTTP ${status}${serverMessage}; Juju retries the hook`, { status });
}
