import { execFile } from "node:child_process";
import { Agent, request } from "node:https";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { median } from "../bench/hook-cost.js";
import { FakeKubernetesApiServer } from "./api-server.js";
import { FakeKubernetesCluster } from "./cluster.js";

/**
 * Budget: serving the four calls one Kubernetes event makes (access review, StatefulSet, pod
 * list, partition patch) costs the fake API server less than a tenth of a bare `node -e 0`
 * start-up (median, server-side time from the request log) — so in process mode the fake
 * never dominates a simulated hook, whose charm process costs at least one start-up. The
 * end-to-end time (client TLS and parsing included, which the real server would cost too) is
 * printed for information. Calls go over one keep-alive TLS connection, like the library's.
 */
const SAMPLES = 41;
const BUDGET_RATIO = 10;
let server: FakeKubernetesApiServer;
let agent: Agent;
let token: string;
let partition = 0;

beforeAll(async () => {
  const cluster = new FakeKubernetesCluster({ namespace: "bench" });
  cluster.deploy("db", { template: { containers: [{ name: "workload", image: "registry/charm/x/db@sha256:ab" }] }, replicas: 5, trusted: true });
  server = await FakeKubernetesApiServer.start({ cluster });
  token = server.issueToken("db");
  agent = new Agent({ ca: server.caCertificate, keepAlive: true, maxSockets: 1 });
});

afterAll(async () => {
  agent.destroy();
  await server.close();
});

function call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: server.host, port: server.port, method, path, agent, headers: { authorization: `Bearer ${token}`, "content-type": contentType } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function oneEvent(): Promise<void> {
  partition = (partition + 1) % 5;
  const statuses = [
    await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "bench", verb: "patch", group: "apps", resource: "statefulsets", name: "db" } },
    }),
    await call("GET", "/apis/apps/v1/namespaces/bench/statefulsets/db"),
    await call("GET", "/api/v1/namespaces/bench/pods?labelSelector=app.kubernetes.io%2Fname%3Ddb"),
    await call("PATCH", "/apis/apps/v1/namespaces/bench/statefulsets/db", { spec: { updateStrategy: { rollingUpdate: { partition } } } }, "application/merge-patch+json"),
  ];
  if (statuses.join() !== "201,200,200,200") throw new Error(`unexpected statuses ${statuses.join()}`);
}

function nodeStartup(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    execFile(process.execPath, ["-e", "0"], (error) => (error === null ? resolve(performance.now() - started) : reject(error)));
  });
}

describe("fake Kubernetes API server: cost per event", () => {
  test("budget: one event's four API calls cost under 1/10 of a bare node start-up", async () => {
    await oneEvent(); // warm up the TLS connection, as a hook's first call does
    const endToEnd: number[] = [];
    const serverSide: number[] = [];
    const startups: number[] = [];
    for (let sample = 0; sample < SAMPLES; sample += 1) {
      server.clearRequestLog();
      const started = performance.now();
      await oneEvent();
      endToEnd.push(performance.now() - started);
      serverSide.push(server.requests.reduce((sum, record) => sum + record.durationMs, 0));
      startups.push(await nodeStartup());
    }
    const served = median(serverSide);
    const startup = median(startups);
    console.log(
      `four API calls: server side median ${served.toFixed(2)} ms, end to end ${median(endToEnd).toFixed(2)} ms; ` +
        `node -e 0: median ${startup.toFixed(2)} ms; ratio 1:${(startup / served).toFixed(1)} (budget 1:${BUDGET_RATIO})`,
    );
    expect(served * BUDGET_RATIO).toBeLessThan(startup);
  }, 120_000);
});
