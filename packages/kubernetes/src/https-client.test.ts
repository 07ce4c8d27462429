import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OTHER_CA_CERT, TEST_SERVER_CERT, TEST_SERVER_KEY } from "./__tests__/tls.js";
import { connectInCluster } from "./connect.js";
import { KubernetesApiError } from "./errors.js";
import { loadInClusterConfig } from "./in-cluster.js";

const TOKEN = "very-secret-service-account-token";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

type Handler = (request: Recorded, response: ServerResponse) => void;

let server: Server;
let port: number;
let handler: Handler;
let recorded: Recorded[];
let serviceAccountDir: string;

beforeAll(async () => {
  server = createServer({ cert: TEST_SERVER_CERT, key: TEST_SERVER_KEY }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = { method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString() };
      recorded.push(entry);
      handler(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  serviceAccountDir = await mkdtemp(join(tmpdir(), "sa-"));
  await writeFile(join(serviceAccountDir, "token"), `${TOKEN}\n`);
  await writeFile(join(serviceAccountDir, "ca.crt"), TEST_SERVER_CERT);
  await writeFile(join(serviceAccountDir, "namespace"), "my-model");
});

afterEach(() => {
  server.closeAllConnections();
});

afterAll(async () => {
  server.close();
  await rm(serviceAccountDir, { recursive: true, force: true });
});

function environment(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_ACCOUNT_DIR: serviceAccountDir,
    ...overrides,
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const statefulSet = (partition: number | undefined, updateRevision = "app-7d9f") => ({
  kind: "StatefulSet",
  spec: { replicas: 3, updateStrategy: { type: "RollingUpdate", rollingUpdate: partition === undefined ? {} : { partition } } },
  status: { updateRevision, currentRevision: "app-5c4b" },
});

async function api(timeoutMs?: number) {
  recorded = [];
  return connectInCluster({ environment: environment(), appName: "app", ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

async function failure(promise: Promise<unknown>): Promise<KubernetesApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KubernetesApiError);
  expect((error as Error).message).not.toContain(TOKEN);
  return error as KubernetesApiError;
}

describe("the in-cluster HTTPS client", () => {
  it("reads the StatefulSet with the service-account token, in the service-account namespace", async () => {
    handler = (_request, response) => json(response, 200, statefulSet(2));
    const client = await api();
    await expect(client.readStatefulSet()).resolves.toEqual({ updateRevision: "app-7d9f", partition: 2 });
    expect(recorded[0]).toMatchObject({ method: "GET", url: "/apis/apps/v1/namespaces/my-model/statefulsets/app" });
    expect(recorded[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("reads a missing partition as 0, as the API server defaults it", async () => {
    handler = (_request, response) => json(response, 200, statefulSet(undefined));
    await expect((await api()).readStatefulSet()).resolves.toMatchObject({ partition: 0 });
  });

  it("patches only the partition, as a merge patch", async () => {
    handler = (request, response) => json(response, 200, statefulSet((JSON.parse(request.body) as { spec: { updateStrategy: { rollingUpdate: { partition: number } } } }).spec.updateStrategy.rollingUpdate.partition));
    await expect((await api()).patchPartition(1)).resolves.toEqual({ updateRevision: "app-7d9f", partition: 1 });
    expect(recorded[0]).toMatchObject({ method: "PATCH", url: "/apis/apps/v1/namespaces/my-model/statefulsets/app" });
    expect(recorded[0]?.headers["content-type"]).toBe("application/merge-patch+json");
    expect(JSON.parse(recorded[0]?.body ?? "")).toEqual({ spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } });
  });

  it("lists the application's pods by label and keeps what identifies each unit", async () => {
    handler = (_request, response) =>
      json(response, 200, {
        kind: "PodList",
        items: [
          {
            metadata: { name: "app-1", uid: "uid-1", labels: { "controller-revision-hash": "app-5c4b" } },
            status: { containerStatuses: [{ name: "workload", imageID: "registry/app@sha256:aa" }, { name: "charm", imageID: "" }] },
          },
          { metadata: { name: "app-0", uid: "uid-0", labels: { "controller-revision-hash": "app-7d9f" } }, status: { phase: "Pending" } },
        ],
      });
    await expect((await api()).listPods()).resolves.toEqual([
      { name: "app-1", uid: "uid-1", controllerRevision: "app-5c4b", containers: [{ name: "workload", imageId: "registry/app@sha256:aa" }, { name: "charm", imageId: "" }] },
      { name: "app-0", uid: "uid-0", controllerRevision: "app-7d9f", containers: [] },
    ]);
    expect(recorded[0]?.url).toBe("/api/v1/namespaces/my-model/pods?labelSelector=app.kubernetes.io%2Fname%3Dapp");
  });

  it("asks whether it may patch the StatefulSet in the apps group", async () => {
    handler = (_request, response) => json(response, 201, { status: { allowed: false, reason: "no RBAC rule" } });
    await expect((await api()).mayPatchStatefulSet()).resolves.toBe(false);
    expect(recorded[0]?.url).toBe("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    expect(JSON.parse(recorded[0]?.body ?? "")).toMatchObject({
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "my-model", verb: "patch", group: "apps", resource: "statefulsets", name: "app" } },
    });
  });

  it.each([
    [401, "KUBERNETES_UNAUTHORIZED", "token"],
    [403, "KUBERNETES_FORBIDDEN", "juju trust app --scope=cluster"],
    [404, "KUBERNETES_NOT_FOUND", "statefulsets.apps \"app\" not found"],
    [409, "KUBERNETES_CONFLICT", "409"],
    [500, "KUBERNETES_SERVER_ERROR", "etcd unavailable"],
    [503, "KUBERNETES_SERVER_ERROR", "503"],
    [422, "KUBERNETES_UNEXPECTED_RESPONSE", "422"],
  ])("turns HTTP %i into %s, saying what to do", async (status, code, text) => {
    handler = (_request, response) =>
      status === 401
        ? (response.writeHead(401), response.end())
        : json(response, status, { kind: "Status", status: "Failure", message: status === 404 ? 'statefulsets.apps "app" not found' : "etcd unavailable", code: status });
    const error = await failure((await api()).readStatefulSet());
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message).toContain(text);
  });

  it("reports a body that does not match the schema, naming the field", async () => {
    handler = (_request, response) => json(response, 200, { status: {} });
    const error = await failure((await api()).readStatefulSet());
    expect(error.code).toBe("KUBERNETES_UNEXPECTED_RESPONSE");
    expect(error.message).toContain("status.updateRevision: Invalid input: expected string, received undefined");
  });

  it("reports a body that is not JSON", async () => {
    handler = (_request, response) => (response.writeHead(200), response.end("<html>proxy error</html>"));
    expect((await failure((await api()).listPods())).code).toBe("KUBERNETES_UNEXPECTED_RESPONSE");
  });

  it("gives up on a server that does not answer in time", async () => {
    handler = () => undefined;
    const error = await failure((await api(150)).readStatefulSet());
    expect(error.code).toBe("KUBERNETES_TIMEOUT");
  });

  it("refuses a server whose certificate the cluster CA did not sign", async () => {
    const otherCa = await mkdtemp(join(tmpdir(), "sa-other-"));
    await writeFile(join(otherCa, "token"), TOKEN);
    await writeFile(join(otherCa, "ca.crt"), OTHER_CA_CERT);
    await writeFile(join(otherCa, "namespace"), "my-model");
    handler = (_request, response) => json(response, 200, statefulSet(0));
    recorded = [];
    const client = await connectInCluster({ environment: environment({ KUBERNETES_SERVICE_ACCOUNT_DIR: otherCa }), appName: "app" });
    const error = await failure(client.readStatefulSet());
    expect(error.code).toBe("KUBERNETES_UNREACHABLE");
    expect(recorded).toHaveLength(0);
    await rm(otherCa, { recursive: true, force: true });
  });

  it("reports a server that refuses connections", async () => {
    const client = await connectInCluster({ environment: environment({ KUBERNETES_SERVICE_PORT: "1" }), appName: "app" });
    expect((await failure(client.readStatefulSet())).code).toBe("KUBERNETES_UNREACHABLE");
  });
});

describe("loadInClusterConfig", () => {
  it("reads host, port and the service-account files, trimming the token", async () => {
    const config = await loadInClusterConfig(environment({ KUBERNETES_SERVICE_HOST: "[fd00::1]" }));
    expect(config).toMatchObject({ host: "fd00::1", port, namespace: "my-model", token: TOKEN });
  });

  it("explains that the variables are missing outside a Kubernetes charm container", async () => {
    const error = await failure(loadInClusterConfig(environment({ KUBERNETES_SERVICE_HOST: undefined })));
    expect(error.code).toBe("KUBERNETES_CONFIG_MISSING");
    expect(error.message).toContain("KUBERNETES_SERVICE_HOST");
  });

  it("names the service-account file it cannot read", async () => {
    const error = await failure(loadInClusterConfig(environment({ KUBERNETES_SERVICE_ACCOUNT_DIR: "/nonexistent/sa" })));
    expect(error.code).toBe("KUBERNETES_CONFIG_MISSING");
    expect(error.message).toContain("/nonexistent/sa/");
  });

  it("rejects a port that is not a number", async () => {
    expect((await failure(loadInClusterConfig(environment({ KUBERNETES_SERVICE_PORT: "https" })))).code).toBe("KUBERNETES_CONFIG_MISSING");
  });
});
