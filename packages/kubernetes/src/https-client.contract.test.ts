import { FakeKubernetesApiServer, FakeKubernetesCluster, type FakeStatefulSet, type PodTemplate } from "@refresh/testing";
import { afterEach, describe, expect, it } from "vitest";
import type { KubernetesApi } from "./api.js";
import { connectInCluster } from "./connect.js";
import { KubernetesApiError } from "./errors.js";

// The client against @refresh/testing's fake API server: the same wire protocol a real API
// server speaks (HTTPS with the cluster CA, bearer tokens, Status error bodies), so this is
// where the client's paths, verbs and content types are proven, not merely asserted.

const V1: PodTemplate = {
  annotations: { "charm.juju.is/modified-version": "10" },
  containers: [{ name: "database", image: "registry.example/db@sha256:1111" }],
};
const V2: PodTemplate = {
  annotations: { "charm.juju.is/modified-version": "11" },
  containers: [{ name: "database", image: "registry.example/db@sha256:2222" }],
};

let server: FakeKubernetesApiServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(trusted = true): Promise<{ api: KubernetesApi; sts: FakeStatefulSet; server: FakeKubernetesApiServer; token: string }> {
  const cluster = new FakeKubernetesCluster({ namespace: "model" });
  const { statefulSet } = cluster.deploy("db", { template: V1, replicas: 3, trusted });
  server = await FakeKubernetesApiServer.start({ cluster });
  const account = await server.writeServiceAccount("db");
  const api = await connectInCluster({ environment: account.env, appName: "db", timeoutMs: 2_000 });
  return { api, sts: statefulSet, server, token: account.token };
}

async function failure(promise: Promise<unknown>): Promise<KubernetesApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KubernetesApiError);
  return error as KubernetesApiError;
}

describe("the HTTPS client against the fake API server", () => {
  it("reads the StatefulSet, lists pods, and moves the partition", async () => {
    const { api, sts } = await setup();
    sts.applyTemplate(V2);
    const before = await api.readStatefulSet();
    expect(before.updateRevision).toBe(sts.updateRevision);
    expect(before.partition).toBe(0);

    const pods = await api.listPods();
    expect(pods.map((pod) => pod.name).sort()).toEqual(["db-0", "db-1", "db-2"]);
    for (const pod of pods) expect(pod.controllerRevision).toMatch(/^db-/);

    await expect(api.patchPartition(2)).resolves.toMatchObject({ partition: 2 });
    expect(sts.partition).toBe(2);
  });

  it("learns from the access review whether the app is trusted", async () => {
    expect(await (await setup(true)).api.mayPatchStatefulSet()).toBe(true);
    await server?.close();
    const untrusted = await setup(false);
    expect(await untrusted.api.mayPatchStatefulSet()).toBe(false);
    const error = await failure(untrusted.api.patchPartition(1));
    expect(error.code).toBe("KUBERNETES_FORBIDDEN");
    expect(error.message).toContain("juju trust db --scope=cluster");
  });

  it("turns injected server errors, hangs and revoked tokens into typed errors", async () => {
    const { api, server: fake, token } = await setup();
    fake.faults.failNext(1, { status: 503 });
    expect((await failure(api.readStatefulSet())).code).toBe("KUBERNETES_SERVER_ERROR");
    fake.faults.hang({ method: "GET" });
    expect((await failure(api.listPods())).code).toBe("KUBERNETES_TIMEOUT");
    fake.faults.clear();
    fake.revokeToken(token);
    const unauthorized = await failure(api.readStatefulSet());
    expect(unauthorized.code).toBe("KUBERNETES_UNAUTHORIZED");
    expect(unauthorized.message).not.toContain(token);
  });

  it("makes three requests for a steady-state event's reads", async () => {
    const { api, server: fake } = await setup();
    fake.clearRequestLog();
    await api.mayPatchStatefulSet();
    await api.readStatefulSet();
    await api.listPods();
    expect(fake.requestCount()).toBe(3);
  });
});
