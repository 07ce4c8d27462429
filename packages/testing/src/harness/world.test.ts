import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CharmRevision } from "../model/charm.js";
import { generateTestCertificates } from "../kubernetes/tls.js";
import type { TestCertificates } from "../kubernetes/tls.js";
import { createWorld } from "./world.js";
import type { RunMode, World, WorldOptions } from "./world.js";
import type { CharmHandler } from "@refresh/juju";
import { TEST_SNAP, kubernetesRequest, kubernetesTestCharm, machinesTestCharm, testCharmFiles, writeTestCharmDir } from "./test-charms.test-support.js";

let scratch: string;
let certificates: TestCertificates;
const worlds: World[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "harness-test-"));
  certificates = await generateTestCertificates();
});

afterEach(async () => {
  for (const world of worlds.splice(0)) await world.dispose();
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function open(options: WorldOptions): Promise<World> {
  const world = await createWorld({ ...options, kubernetes: { certificates, ...(options.kubernetes ?? {}) } });
  worlds.push(world);
  return world;
}

/** Charm revisions of a test charm, usable in both modes: a directory with `dispatch`, and the same code as a handler. */
async function revisions(kind: "kubernetes" | "machines", pins: Readonly<Record<number, string>>): Promise<CharmRevision[]> {
  const result: CharmRevision[] = [];
  for (const [revision, snapRevision] of Object.entries(pins)) {
    const dir = join(scratch, `${kind}-${revision}-${Math.random().toString(36).slice(2)}`);
    await writeTestCharmDir(dir, kind, testCharmFiles(kind, kind === "machines" ? { snap_revision: `${snapRevision}\n` } : {}));
    result.push({ revision: Number(revision), dir, handler: kind === "kubernetes" ? kubernetesTestCharm : machinesTestCharm });
  }
  return result;
}

/** Process-mode tests start a Node process per hook (a few hundred ms each on a busy machine). */
const PROCESS_TIMEOUT = 180_000;

const SNAP_REVISIONS = [
  { revision: "182", version: "16.4" },
  { revision: "183", version: "16.8" },
];

function revisionsOf(world: World): number[] {
  return world.sim.units.map((unit) => world.sim.charmRevision(unit));
}

describe("createWorld on Kubernetes, process mode", { timeout: PROCESS_TIMEOUT }, () => {
  it("runs dispatch with the service account, patches the partition over HTTPS and the model rolls pods by it", async () => {
    const world = await open({ substrate: "kubernetes", mode: "process", charm: { revisions: await revisions("kubernetes", { 1: "", 2: "" }) }, units: 2, config: { partition: 1 }, seed: 7 });
    const kubernetes = world.kubernetes;
    if (kubernetes === undefined) throw new Error("a Kubernetes world has Kubernetes parts");
    expect(world.unitEnvironment("kdb/1")).toMatchObject({
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(kubernetes.api.port),
      KUBERNETES_SERVICE_ACCOUNT_DIR: kubernetes.serviceAccount("kdb/1").directory,
    });

    await world.sim.settle();

    const statefulSet = kubernetes.cluster.statefulSet("kdb");
    expect(statefulSet.partition).toBe(1);
    const patches = kubernetes.api.requests.filter((r) => r.method === "PATCH");
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({ app: "kdb", status: 200 });
    expect(world.sim.unitStatus(world.sim.leader ?? "")).toEqual({ status: "active", message: "partition 1" });
    // Every pod became Ready once its unit started, in the cluster the API server serves.
    expect(statefulSet.pods().map((pod) => pod.ready)).toEqual([true, true]);
    // Tool calls of dispatch processes are counted per hook, as for in-process handlers.
    const leaderConfig = world.sim.history.find((record) => record.unit === world.sim.leader && record.hook === "config-changed");
    expect(leaderConfig?.toolCalls).toEqual({ "application-version-set": 1, "is-leader": 1, "config-get": 1, "status-set": 1 });

    world.sim.refresh({ to: 2 });
    await world.sim.settle();
    expect(revisionsOf(world)).toEqual([1, 2]);
    expect(world.sim.workloadVersion("kdb/1")).toBe("charm-2");
    expect(world.sim.pod("kdb/1")?.revision).toBe(statefulSet.updateRevision);

    // The new code leads and opens the partition; Kubernetes then replaces kdb/0.
    world.sim.setLeader("kdb/1");
    world.sim.config({ partition: 0 });
    await world.sim.settle();
    expect(statefulSet.partition).toBe(0);
    expect(revisionsOf(world)).toEqual([2, 2]);
    expect(statefulSet.currentRevision).toBe(statefulSet.updateRevision);
    expect(world.sim.history.every((record) => record.outcome === "succeeded")).toBe(true);
  });

  it("an untrusted application gets 403 on its patch and the charm says to run juju trust", async () => {
    const world = await open({ substrate: "kubernetes", mode: "process", charm: { revisions: await revisions("kubernetes", { 1: "" }) }, units: 1, config: { partition: 1 }, kubernetes: { trusted: false } });
    await world.sim.settle();
    expect(world.sim.unitStatus("kdb/0")).toEqual({ status: "blocked", message: "cannot patch the StatefulSet (HTTP 403): run juju trust" });
    const patches = world.kubernetes?.api.requests.filter((r) => r.method === "PATCH").map((r) => r.status) ?? [];
    expect(patches.length).toBeGreaterThan(0);
    expect(new Set(patches)).toEqual(new Set([403]));

    world.kubernetes?.setTrusted(true);
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(world.kubernetes?.cluster.statefulSet("kdb").partition).toBe(1);
    expect(world.sim.unitStatus("kdb/0")).toEqual({ status: "active", message: "partition 1" });
  });
});

describe("process mode hook tools", { timeout: PROCESS_TIMEOUT }, () => {
  it("resolve a bare relation number (-r 0) in any hook once the unit is in the peer relation", async () => {
    const dispatch = [
      "#!/bin/sh",
      "set -e",
      'if [ -n "$(relation-ids refresh-v-three)" ]; then relation-set -r 0 "last-hook=$JUJU_HOOK_NAME"; fi',
      "",
    ].join("\n");
    const world = await open({ substrate: "machines", mode: "process", units: 1, charm: { revisions: [{ revision: 1, files: { ...testCharmFiles("machines"), dispatch } }] } });
    await world.sim.settle();
    expect(world.sim.history.filter((record) => record.outcome === "failed")).toEqual([]);
    expect(world.sim.unitData("mdb/0")["last-hook"]).toBe("start");
    expect(world.sim.history.find((record) => record.hook === "config-changed")?.toolCalls).toEqual({ "relation-ids": 1, "relation-set": 1 });
  });

  it("status-get --application lists every unit's status", async () => {
    const dispatch = [
      "#!/bin/sh",
      "set -e",
      'status-set active "unit $JUJU_UNIT_NAME"',
      'if [ "$JUJU_HOOK_NAME" = update-status ] && [ "$(is-leader --format=json)" = true ]; then',
      '  status-get --application --format=json > "$REFRESH_SIM_WORKLOAD_DIR/app-status.json"',
      "fi",
      "",
    ].join("\n");
    const world = await open({ substrate: "machines", mode: "process", units: 2, charm: { revisions: [{ revision: 1, files: { ...testCharmFiles("machines"), dispatch } }] } });
    await world.sim.settle();
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    const answer: unknown = JSON.parse(await readFile(join(world.workloadDir, "app-status.json"), "utf8"));
    expect(answer).toMatchObject({
      "application-status": {
        units: {
          "mdb/0": { status: "active", message: "unit mdb/0", "status-data": {} },
          "mdb/1": { status: "active", message: "unit mdb/1", "status-data": {} },
        },
      },
    });
  });

  it("answer tool processes a hook starts at once, and the same seed replays the same run", async () => {
    const dispatch = [
      "#!/bin/sh",
      "set -e",
      "is-leader --format=json > leader.out &",
      "config-get --format=json > config.out &",
      "status-get --format=json > status.out &",
      'if [ -n "$(relation-ids refresh-v-three)" ]; then relation-list -r 0 --format=json > peers.out & fi',
      "wait",
      'grep -q . leader.out && grep -q . config.out && grep -q . status.out',
      "",
    ].join("\n");
    const run = async (): Promise<string[]> => {
      const world = await open({ substrate: "machines", mode: "process", units: 2, seed: 5, charm: { revisions: [{ revision: 1, files: { ...testCharmFiles("machines"), dispatch } }] } });
      await world.sim.settle();
      expect(world.sim.history.filter((record) => record.outcome === "failed")).toEqual([]);
      return world.sim.history.map((record) => `${record.unit} ${record.hook} ${JSON.stringify(Object.entries(record.toolCalls).sort())}`);
    };
    const first = await run();
    expect(first.find((line) => line.includes("config-changed"))).toContain('["config-get",1],["is-leader",1],["relation-ids",1],["relation-list",1],["status-get",1]');
    expect(await run()).toEqual(first);
  });
});

describe("createWorld on Kubernetes, in-process", () => {
  it("a 5xx from the API server fails the hook, Juju retries it, and the retry patches", async () => {
    const world = await open({ substrate: "kubernetes", charm: { revisions: await revisions("kubernetes", { 1: "" }) }, units: 2, seed: 3 });
    await world.sim.settle();
    world.kubernetes?.api.faults.failNext(1, { method: "PATCH", status: 503 });
    world.sim.config({ partition: 1 });
    await world.sim.settle();
    const leaderHooks = world.sim.history.filter((record) => record.unit === world.sim.leader && record.hook === "config-changed");
    expect(leaderHooks.map((record) => record.outcome).slice(-2)).toEqual(["failed", "succeeded"]);
    expect(leaderHooks.at(-2)?.error).toContain("HTTP 503");
    expect(world.kubernetes?.cluster.statefulSet("kdb").partition).toBe(1);
  });

  it("an unhealthy workload keeps its pod unready, which holds the rollout, and writes the health file", async () => {
    const world = await open({ substrate: "kubernetes", charm: { revisions: await revisions("kubernetes", { 1: "", 2: "" }) }, units: 3 });
    await world.sim.settle();
    world.sim.setWorkloadHealth("kdb/2", false);
    expect(existsSync(join(world.workloadDir, "kdb-2.health"))).toBe(true);
    world.sim.refresh({ to: 2 });
    await world.sim.settle();
    // kdb/2 is replaced first but never becomes Ready, so Kubernetes goes no further.
    expect(revisionsOf(world)).toEqual([1, 1, 2]);
    expect(world.kubernetes?.cluster.statefulSet("kdb").pod(2)?.ready).toBe(false);
    world.sim.setWorkloadHealth("kdb/2", true);
    await world.sim.settle();
    expect(revisionsOf(world)).toEqual([2, 2, 2]);
  });

  it("scale-down removes the pod from the cluster for good and revokes the unit's token", async () => {
    const world = await open({ substrate: "kubernetes", charm: { revisions: await revisions("kubernetes", { 1: "" }) }, units: 3 });
    await world.sim.settle();
    const token = world.kubernetes?.serviceAccount("kdb/2").token ?? "";
    world.sim.removeUnit();
    await world.sim.settle();
    expect(world.kubernetes?.cluster.statefulSet("kdb").pods().map((pod) => pod.name)).toEqual(["kdb-0", "kdb-1"]);
    expect(await statusWithToken(world, token)).toBe(401);
  });

  it("scaling down by two at once removes both pods, whichever unit finishes its remove hook first", async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const world = await open({ substrate: "kubernetes", charm: { revisions: await revisions("kubernetes", { 1: "" }) }, units: 3, seed });
      await world.sim.settle();
      world.sim.removeUnit();
      world.sim.removeUnit("kdb/1");
      await world.sim.settle();
      expect(world.sim.logs.filter((line) => line.hook === "(simulator)")).toEqual([]);
      expect(world.kubernetes?.cluster.statefulSet("kdb").pods().map((pod) => pod.name)).toEqual(["kdb-0"]);
      expect(world.sim.units).toEqual(["kdb/0"]);
    }
  });

  it("evicting a unit replaces its pod in the cluster: new uid, same revision", async () => {
    const world = await open({ substrate: "kubernetes", charm: { revisions: await revisions("kubernetes", { 1: "" }) }, units: 2 });
    await world.sim.settle();
    const before = world.kubernetes?.cluster.statefulSet("kdb").pod(1)?.uid;
    const hooksBefore = world.sim.history.length;
    world.sim.evict("kdb/1");
    await world.sim.settle();
    const after = world.kubernetes?.cluster.statefulSet("kdb").pod(1);
    expect(after?.uid).not.toBe(before);
    expect(after?.ready).toBe(true);
    const since = world.sim.history.slice(hooksBefore).filter((record) => record.unit === "kdb/1").map((record) => record.hook);
    expect(since[0]).toBe("stop");
    expect(since.at(-1)).toBe("start");
  });
});

describe("createWorld on machines", { timeout: PROCESS_TIMEOUT }, () => {
  it("process mode: each machine has its own snapd; the charm installs and refreshes the snap through the socket", async () => {
    const world = await open({
      substrate: "machines",
      mode: "process",
      charm: { revisions: await revisions("machines", { 1: "182", 2: "183" }) },
      units: 2,
      machines: { snap: { name: TEST_SNAP, revisions: SNAP_REVISIONS } },
    });
    const machines = world.machines;
    if (machines === undefined) throw new Error("a machines world has machines");
    expect(world.unitEnvironment("mdb/0")["SNAPD_SOCKET"]).toBe(machines.snapd("mdb/0").socketPath);
    expect(machines.snapd("mdb/0").socketPath).not.toBe(machines.snapd("mdb/1").socketPath);

    await world.sim.settle();
    expect(world.sim.units.map((unit) => machines.snapd(unit).snap(TEST_SNAP)?.revision)).toEqual(["182", "182"]);
    expect(world.sim.status().units.map((row) => row.snap)).toEqual([
      { name: TEST_SNAP, revision: "182", version: "16.4", running: true },
      { name: TEST_SNAP, revision: "182", version: "16.4", running: true },
    ]);
    expect(world.sim.statusTable()).toMatch(/Snap[\s\S]*test-db 182 \(16\.4\)/);

    machines.snapd("mdb/0").failNextRefresh("store unreachable");
    world.sim.refresh({ to: 2 });
    await world.sim.settle();
    const failed = world.sim.history.find((record) => record.outcome === "failed");
    expect(failed).toMatchObject({ unit: "mdb/0", hook: "upgrade-charm" });
    expect(failed?.error).toContain("store unreachable");
    expect(world.sim.units.map((unit) => world.sim.workloadVersion(unit))).toEqual(["16.8", "16.8"]);
    expect(world.sim.units.map((unit) => world.sim.unitStatus(unit).message)).toEqual(["snap revision 183", "snap revision 183"]);
  });

  it("setWorkloadHealth writes the health file the charm reads: an unhealthy unit does not refresh its snap", async () => {
    const world = await open({
      substrate: "machines",
      charm: { revisions: await revisions("machines", { 1: "182", 2: "183" }) },
      units: 2,
      machines: { snap: { name: TEST_SNAP, revisions: SNAP_REVISIONS, installed: "182" } },
    });
    await world.sim.settle();
    world.sim.setWorkloadHealth("mdb/1", false);
    world.sim.refresh({ to: 2 });
    await world.sim.settle();
    expect(world.machines?.snapd("mdb/1").snap(TEST_SNAP)?.revision).toBe("182");
    expect(world.sim.unitStatus("mdb/1")).toEqual({ status: "blocked", message: "workload unhealthy: staying on snap revision 182" });
    world.sim.setWorkloadHealth("mdb/1", true);
    world.sim.fireUpdateStatus();
    await world.sim.settle();
    expect(world.machines?.snapd("mdb/1").snap(TEST_SNAP)?.revision).toBe("183");
  });

  it("add-unit gives the new machine a snapd; remove-unit closes it", async () => {
    const world = await open({ substrate: "machines", charm: { revisions: await revisions("machines", { 1: "182" }) }, units: 1, machines: { snap: { name: TEST_SNAP, revisions: SNAP_REVISIONS } } });
    await world.sim.settle();
    const [added = ""] = await world.sim.addUnit();
    await world.sim.settle();
    const socket = world.machines?.snapd(added).socketPath ?? "";
    expect(world.machines?.snapd(added).snap(TEST_SNAP)?.revision).toBe("182");
    world.sim.removeUnit(added);
    await world.sim.settle();
    expect(world.machines?.machines).toEqual(["mdb/0"]);
    expect(() => world.machines?.snapd(added)).toThrow(/has no machine/);
    await world.dispose();
    expect(existsSync(socket)).toBe(false);
  });
});

describe("both run modes", { timeout: PROCESS_TIMEOUT }, () => {
  /** What a user would compare between two runs: statuses, versions, revisions, databags and the hook sequence. */
  function outcome(world: World): unknown {
    const sim = world.sim;
    return {
      leader: sim.leader,
      units: sim.units.map((unit) => ({ unit, status: sim.unitStatus(unit), version: sim.workloadVersion(unit), revision: sim.charmRevision(unit), data: sim.unitData(unit) })),
      app: sim.appStatus(),
      partition: world.kubernetes?.cluster.statefulSet("kdb").partition,
      snaps: sim.status().units.map((row) => row.snap),
      history: sim.history.map((record) => [record.unit, record.hook, record.remoteUnit, record.outcome, record.toolCalls]),
    };
  }

  async function scenario(substrate: "kubernetes" | "machines", mode: RunMode): Promise<unknown> {
    const kind = substrate;
    const world = await open({
      substrate,
      mode,
      seed: 11,
      units: 2,
      charm: { revisions: await revisions(kind, { 1: "182", 2: "183" }) },
      ...(substrate === "kubernetes" ? { config: { partition: 1 } } : { machines: { snap: { name: TEST_SNAP, revisions: SNAP_REVISIONS } } }),
    });
    await world.sim.settle();
    world.sim.refresh({ to: 2 });
    await world.sim.settle();
    return outcome(world);
  }

  it.each(["kubernetes", "machines"] as const)("%s: the same seed gives the same final state in-process and through dispatch", async (substrate) => {
    const inProcess = await scenario(substrate, "in-process");
    const viaDispatch = await scenario(substrate, "process");
    expect(viaDispatch).toEqual(inProcess);
  });
});

describe("requests to the fakes as scheduling points", () => {
  /** For each seed, whether another unit's hook ran between a hook's API request and its answer. */
  async function interleavings(yieldAtRequests: boolean): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const order: string[] = [];
      const handler: CharmHandler = async ({ context, tools }) => {
        if (context.event.name !== "config-changed") return;
        order.push(`${context.unitName} asks`);
        const answer = await kubernetesRequest(context.environment, "GET", `/apis/apps/v1/namespaces/test-model/statefulsets/kdb`);
        order.push(`${context.unitName} got ${answer.status}`);
        await tools.statusSet({ status: "active", message: "" });
      };
      const world = await open({ substrate: "kubernetes", seed, units: 3, yieldAtRequests, charm: { revisions: [{ revision: 1, files: testCharmFiles("kubernetes"), handler }] } });
      await world.sim.settle();
      expect(order.filter((line) => line.endsWith("got 200"))).toHaveLength(3);
      results.push(order.some((line, i) => line.endsWith("asks") && order[i + 1] !== `${line.slice(0, -"asks".length)}got 200`));
    }
    return results;
  }

  it("another unit's hook may run between a charm's request and the answer, in a seeded order", async () => {
    const gated = await interleavings(true);
    expect(gated).toContain(true);
    expect(await interleavings(true)).toEqual(gated);
    expect(await interleavings(false)).not.toContain(true);
  });
});

describe("dispose", { timeout: PROCESS_TIMEOUT }, () => {
  it("closes the API server and the hook-tool socket and removes the temporary directories", async () => {
    const world = await createWorld({ substrate: "kubernetes", mode: "process", charm: { revisions: await revisions("kubernetes", { 1: "" }) }, units: 1, kubernetes: { certificates } });
    await world.sim.settle();
    const account = world.kubernetes?.serviceAccount("kdb/0").directory ?? "";
    const socket = world.hookTools?.socketPath ?? "";
    const charmDirs = world.sim.baseDir;
    await world.dispose();
    await world.dispose();
    for (const path of [account, socket, charmDirs, world.workloadDir]) expect(existsSync(path)).toBe(false);
    await expect(statusWithToken(world, "anything")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses an in-process world for a revision without a handler", async () => {
    const dir = join(scratch, "no-handler");
    await writeTestCharmDir(dir, "kubernetes", testCharmFiles("kubernetes"));
    await expect(createWorld({ substrate: "kubernetes", charm: { revisions: [{ revision: 1, dir }] } })).rejects.toThrow(/no handler/);
  });
});

/** Status of a GET of the StatefulSet with `token`, straight to the fake API server. */
function statusWithToken(world: World, token: string): Promise<number> {
  const api = world.kubernetes?.api;
  if (api === undefined) throw new Error("not a Kubernetes world");
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: api.host, port: api.port, path: `/apis/apps/v1/namespaces/${api.cluster.namespace}/statefulsets/kdb`, ca: api.caCertificate, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}
