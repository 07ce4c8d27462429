import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeKubernetesApiServer } from "./api-server.js";
import { FakeKubernetesCluster } from "./cluster.js";
import type { FakeStatefulSet, PodTemplate } from "./cluster.js";
import { generateTestCertificates } from "./tls.js";
import type { TestCertificates } from "./tls.js";

const V1: PodTemplate = {
  annotations: { "charm.juju.is/modified-version": "10" },
  containers: [{ name: "workload", image: "registry.jujucharms.com/charm/abc/image@sha256:1111" }],
};
const V2: PodTemplate = {
  annotations: { "charm.juju.is/modified-version": "11" },
  containers: [{ name: "workload", image: "registry.jujucharms.com/charm/abc/image@sha256:2222" }],
};

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

interface ClientOptions {
  method?: string;
  token?: string | undefined;
  ca?: string | undefined;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/** A client that does what an in-cluster client does: HTTPS with the CA, bearer token, JSON. */
function call(server: FakeKubernetesApiServer, path: string, options: ClientOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    const req = request(
      { host: server.host, port: server.port, path, method: options.method ?? "GET", headers, agent: false, ...(options.ca === undefined ? {} : { ca: options.ca }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        });
      },
    );
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end(options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body));
  });
}

let certificates: TestCertificates;
beforeAll(async () => {
  // One CA for the whole file keeps it fast; each server still serves with it independently.
  certificates = await generateTestCertificates();
});

const servers: FakeKubernetesApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Setup {
  server: FakeKubernetesApiServer;
  sts: FakeStatefulSet;
  token: string;
  ca: string;
  client: (path: string, options?: ClientOptions) => Promise<Reply>;
}

async function setup(options: { trusted?: boolean; untrustedCanRead?: boolean } = {}): Promise<Setup> {
  const cluster = new FakeKubernetesCluster({ namespace: "dev" });
  const { statefulSet } = cluster.deploy("db", { template: V1, replicas: 3, trusted: options.trusted ?? true });
  cluster.deploy("other", { template: V1, replicas: 1, trusted: true });
  const server = await FakeKubernetesApiServer.start({
    cluster,
    certificates,
    ...(options.untrustedCanRead === undefined ? {} : { untrustedCanRead: options.untrustedCanRead }),
  });
  servers.push(server);
  const token = server.issueToken("db");
  const ca = server.caCertificate;
  return { server, sts: statefulSet, token, ca, client: (path, more = {}) => call(server, path, { token, ca, ...more }) };
}

const STS = "/apis/apps/v1/namespaces/dev/statefulsets/db";
const PODS = "/api/v1/namespaces/dev/pods?labelSelector=app.kubernetes.io%2Fname%3Ddb";
const partitionPatch = (partition: unknown): unknown => ({ spec: { updateStrategy: { rollingUpdate: { partition } } } });

describe("TLS and authentication", () => {
  it("TLS verification succeeds with the server's CA", async () => {
    const { client } = await setup();
    expect((await client(STS)).status).toBe(200);
  });

  it("TLS verification fails without the CA", async () => {
    const { server, token } = await setup();
    await expect(call(server, STS, { token })).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/) });
  });

  it("answers 401 with a Status object without a token, with a wrong token and with a revoked one", async () => {
    const { server, ca, token } = await setup();
    for (const bad of [undefined, "not-a-token"]) {
      const reply = await call(server, STS, { ca, token: bad });
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Unauthorized", code: 401 });
    }
    server.revokeToken(token);
    expect((await call(server, STS, { ca, token })).status).toBe(401);
  });

  it("writes a service-account directory a client can use as is", async () => {
    const { server } = await setup();
    const account = await server.writeServiceAccount("db");
    expect(account.env).toEqual({
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(server.port),
      KUBERNETES_SERVICE_ACCOUNT_DIR: account.directory,
    });
    const [token, ca, namespace] = await Promise.all(["token", "ca.crt", "namespace"].map((file) => readFile(join(account.directory, file), "utf8")));
    expect(namespace).toBe("dev");
    const reply = await call(server, `/apis/apps/v1/namespaces/${namespace ?? ""}/statefulsets/db`, { token, ca });
    expect(reply.status).toBe(200);
    await server.close();
    await expect(readFile(join(account.directory, "token"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a rotated token is written to the directory; the old one stops working when revoked", async () => {
    const { server } = await setup();
    const account = await server.writeServiceAccount("db");
    const rotated = await server.rotateToken(account, { revokeOld: true });
    expect(await readFile(join(account.directory, "token"), "utf8")).toBe(rotated.token);
    expect((await call(server, STS, { token: account.token, ca: server.caCertificate })).status).toBe(401);
    expect((await call(server, STS, { token: rotated.token, ca: server.caCertificate })).status).toBe(200);
  });

  it("refuses to rotate a token it no longer knows, saying what to pass instead", async () => {
    const { server } = await setup();
    const account = await server.writeServiceAccount("db");
    await server.rotateToken(account, { revokeOld: true });
    await expect(server.rotateToken(account)).rejects.toMatchObject({ code: "FAKE_API_SERVER_UNKNOWN_TOKEN", message: expect.stringContaining("writeServiceAccount") });
  });
});

describe("reads", () => {
  it("returns the StatefulSet with partition, revisions and replica counts", async () => {
    const { client, sts } = await setup();
    sts.setReady(2, true);
    sts.applyTemplate(V2);
    const { status, body } = await client(STS);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      kind: "StatefulSet",
      apiVersion: "apps/v1",
      metadata: { name: "db", namespace: "dev", uid: sts.uid, resourceVersion: sts.resourceVersion },
      spec: { replicas: 3, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } } },
      status: { updateRevision: sts.updateRevision, currentRevision: sts.currentRevision, replicas: 3, readyReplicas: 1, updatedReplicas: 0 },
    });
  });

  it("404 NotFound for an unknown StatefulSet or another namespace", async () => {
    const { client } = await setup();
    for (const path of ["/apis/apps/v1/namespaces/dev/statefulsets/nope", "/apis/apps/v1/namespaces/prod/statefulsets/db"]) {
      const reply = await client(path);
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({ kind: "Status", reason: "NotFound", code: 404 });
    }
  });

  it("lists only the application's pods, terminating ones included, with uid, revision label and imageID", async () => {
    const { client, sts } = await setup();
    sts.applyTemplate(V2);
    sts.startPodDeletion(2, "rolling-update");
    const { body } = await client(PODS);
    expect(body["kind"]).toBe("PodList");
    const items = body["items"] as { metadata: Record<string, unknown>; status: Record<string, unknown> }[];
    expect(items.map((item) => item.metadata["name"])).toEqual(["db-0", "db-1", "db-2"]);
    const terminating = items[2];
    expect(terminating?.metadata["deletionTimestamp"]).toEqual(expect.any(String));
    expect(terminating?.metadata["uid"]).toBe(sts.pod(2)?.uid);
    expect(terminating?.metadata["labels"]).toMatchObject({ "app.kubernetes.io/name": "db", "controller-revision-hash": sts.currentRevision });
    expect(terminating?.status["containerStatuses"]).toEqual([
      expect.objectContaining({ name: "workload", imageID: "registry.jujucharms.com/charm/abc/image@sha256:1111" }),
    ]);
  });

  it("reads a single pod and ControllerRevisions by label and by name", async () => {
    const { client, sts } = await setup();
    sts.applyTemplate(V2);
    expect((await client("/api/v1/namespaces/dev/pods/db-1")).body).toMatchObject({ kind: "Pod", metadata: { name: "db-1" } });
    expect((await client("/api/v1/namespaces/dev/pods/db-9")).status).toBe(404);
    const list = await client("/apis/apps/v1/namespaces/dev/controllerrevisions?labelSelector=app.kubernetes.io/name=db");
    const revisions = list.body["items"] as { metadata: { name: string }; revision: number }[];
    expect(revisions.map((revision) => [revision.metadata.name, revision.revision])).toEqual([
      [sts.currentRevision, 1],
      [sts.updateRevision, 2],
    ]);
    const one = await client(`/apis/apps/v1/namespaces/dev/controllerrevisions/${sts.updateRevision}`);
    expect(one.body).toMatchObject({ kind: "ControllerRevision", revision: 2 });
  });
});

describe("PATCH partition", () => {
  it("sets the partition with merge and strategic-merge patches and returns the updated StatefulSet", async () => {
    const { client, sts } = await setup();
    for (const [contentType, partition] of [
      ["application/merge-patch+json", 2],
      ["application/strategic-merge-patch+json", 1],
    ] as const) {
      const reply = await client(STS, { method: "PATCH", contentType, body: partitionPatch(partition) });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ spec: { updateStrategy: { rollingUpdate: { partition } } } });
      expect(sts.partition).toBe(partition);
    }
  });

  it("tells cluster subscribers about the new partition", async () => {
    const { client, server } = await setup();
    const seen: unknown[] = [];
    server.cluster.subscribe((change) => seen.push(change));
    await client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: partitionPatch(2) });
    expect(seen).toEqual([{ type: "partition-changed", app: "db", from: 0, to: 2 }]);
  });

  it("415 for a JSON-patch-unaware content type, 422 for a negative partition, 400 for bad JSON", async () => {
    const { client, sts } = await setup();
    const wrongType = await client(STS, { method: "PATCH", contentType: "application/json", body: partitionPatch(1) });
    expect(wrongType.body).toMatchObject({ reason: "UnsupportedMediaType", code: 415 });
    const negative = await client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: partitionPatch(-1) });
    expect(negative.body).toMatchObject({ reason: "Invalid", code: 422 });
    const garbage = await client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: "{" });
    expect(garbage.status).toBe(400);
    expect(sts.partition).toBe(0);
  });

  it("rejects changes to anything but the partition, naming the field", async () => {
    const { client, sts } = await setup();
    const reply = await client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: { spec: { replicas: 5 } } });
    expect(reply.status).toBe(422);
    expect(String(reply.body["message"])).toContain("/spec/replicas");
    expect(sts.replicas).toBe(3);
  });

  it("a stale resourceVersion in the patch gives 409 Conflict", async () => {
    const { client, sts } = await setup();
    const stale = sts.resourceVersion;
    sts.setReady(0, true);
    const reply = await client(STS, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { metadata: { resourceVersion: stale }, ...(partitionPatch(1) as object) },
    });
    expect(reply.body).toMatchObject({ reason: "Conflict", code: 409 });
    expect(sts.partition).toBe(0);
  });

  it("JSON patch with a test op: applies when the test holds, 422 when it fails", async () => {
    const { client, sts } = await setup();
    const ops = (expected: number, next: number): unknown => [
      { op: "test", path: "/spec/updateStrategy/rollingUpdate/partition", value: expected },
      { op: "replace", path: "/spec/updateStrategy/rollingUpdate/partition", value: next },
    ];
    expect((await client(STS, { method: "PATCH", contentType: "application/json-patch+json", body: ops(0, 2) })).status).toBe(200);
    expect(sts.partition).toBe(2);
    expect((await client(STS, { method: "PATCH", contentType: "application/json-patch+json", body: ops(0, 1) })).status).toBe(422);
    expect(sts.partition).toBe(2);
  });
});

describe("trust", () => {
  it("an untrusted application gets 403 Forbidden on PATCH and allowed:false in the access review", async () => {
    const { client, sts } = await setup({ trusted: false });
    const patch = await client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: partitionPatch(1) });
    expect(patch.body).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
    expect(String(patch.body["message"])).toContain('User "system:serviceaccount:dev:db" cannot patch resource "statefulsets"');
    expect(sts.partition).toBe(0);
    const review = await client("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      method: "POST",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { namespace: "dev", verb: "patch", group: "apps", resource: "statefulsets", name: "db" } },
      },
    });
    expect(review.status).toBe(201);
    expect(review.body).toMatchObject({ kind: "SelfSubjectAccessReview", status: { allowed: false } });
  });

  it("after juju trust the same token may patch and the review allows it", async () => {
    const { client, sts } = await setup({ trusted: false });
    sts.setTrusted(true);
    const review = await client("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      method: "POST",
      body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: { verb: "patch", resource: "statefulset", name: "db" } } },
    });
    expect(review.body).toMatchObject({ status: { allowed: true } });
    expect((await client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: partitionPatch(1) })).status).toBe(200);
  });

  it("can forbid reads to untrusted applications too", async () => {
    const { client, server } = await setup({ trusted: false, untrustedCanRead: false });
    expect((await client(STS)).body).toMatchObject({ reason: "Forbidden", code: 403 });
    expect((await client(PODS)).status).toBe(403);
    server.setUntrustedCanRead(true);
    expect((await client(PODS)).status).toBe(200);
  });

  it("rejects a malformed access review", async () => {
    const { client } = await setup();
    const reply = await client("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { method: "POST", body: { kind: "Nope" } });
    expect(reply.status).toBe(400);
  });
});

describe("faults and request log", () => {
  it("fails the next N matching requests with 5xx, then recovers", async () => {
    const { client, server } = await setup();
    server.faults.failNext(2, { path: "/statefulsets/", status: 503 });
    expect((await client(PODS)).status).toBe(200);
    expect((await client(STS)).body).toMatchObject({ kind: "Status", code: 503, reason: "ServiceUnavailable" });
    expect((await client(STS)).status).toBe(503);
    expect((await client(STS)).status).toBe(200);
  });

  it("refuses to inject a status that is not a server error, and injects nothing", async () => {
    const { client, server } = await setup();
    expect(() => server.faults.failNext(1, { status: 404 })).toThrow(expect.objectContaining({ code: "FAKE_API_SERVER_INVALID_FAULT" }));
    expect((await client(STS)).status).toBe(200);
  });

  it("hangs matching requests until the client gives up", async () => {
    const { client, server } = await setup();
    server.faults.hang({ method: "PATCH" });
    await expect(client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: partitionPatch(1), timeoutMs: 200 })).rejects.toThrow(
      /client timeout/,
    );
    expect((await client(STS)).status).toBe(200);
    expect(server.requests.find((record) => record.method === "PATCH")).toMatchObject({ status: 0, fault: "hung" });
  });

  it("delays matching requests", async () => {
    const { client, server } = await setup();
    server.faults.delay(150, { path: /\/pods$/ });
    await client(PODS);
    expect(server.requests.at(-1)).toMatchObject({ fault: "delayed", status: 200 });
    expect(server.requests.at(-1)?.durationMs).toBeGreaterThanOrEqual(140);
  });

  it("logs requests with the calling application and counts them per path", async () => {
    const { client, server } = await setup();
    await client(STS);
    await client(PODS);
    await call(server, STS, { ca: server.caCertificate });
    expect(server.requests.map((record) => [record.method, record.path, record.app, record.status])).toEqual([
      ["GET", STS, "db", 200],
      ["GET", "/api/v1/namespaces/dev/pods", "db", 200],
      ["GET", STS, undefined, 401],
    ]);
    expect(server.requestCount({ path: "/statefulsets/db" })).toBe(2);
    server.clearRequestLog();
    expect(server.requestCount()).toBe(0);
  });

  it("lets a gate hold requests so the simulator can order them", async () => {
    const { client, server } = await setup();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.setRequestGate(async (request) => {
      if (request.method === "PATCH") await held;
      order.push(request.method);
    });
    const patch = client(STS, { method: "PATCH", contentType: "application/merge-patch+json", body: partitionPatch(1) });
    await client(STS);
    release();
    await patch;
    expect(order).toEqual(["GET", "PATCH"]);
  });
});

describe("lifecycle", () => {
  let own: FakeKubernetesApiServer | undefined;
  afterAll(async () => own?.close());

  it("generates its own CA when none is given and refuses connections after close", async () => {
    const cluster = new FakeKubernetesCluster({ namespace: "dev" });
    cluster.deploy("db", { template: V1, replicas: 1, trusted: true });
    own = await FakeKubernetesApiServer.start({ cluster });
    expect(own.caCertificate).not.toBe(certificates.caCertificate);
    const token = own.issueToken("db");
    expect((await call(own, STS, { token, ca: own.caCertificate })).status).toBe(200);
    await own.close();
    await expect(call(own, STS, { token, ca: own.caCertificate })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
