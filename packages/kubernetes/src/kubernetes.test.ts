import { readdir } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { KubernetesJujuAppNotTrusted } from "./errors.js";
import { Scenario, V1, V2, V2_WRONG_IMAGE, V3, V_MAJOR } from "./__tests__/scenario.js";

let scenario: Scenario | undefined;

afterEach(async () => {
  const finished = scenario;
  scenario = undefined;
  if (finished === undefined) return;
  await finished.dispose();
  expect(finished.violations).toEqual([]);
});

async function deployed(replicas: number, pause = "first"): Promise<Scenario> {
  scenario = await Scenario.create(replicas, V1);
  scenario.world.config["pause-after-unit-refresh"] = pause;
  await scenario.everyUnit("install");
  return scenario;
}

function revisionsOf(s: Scenario): Record<number, string> {
  return Object.fromEntries([...s.world.pods.values()].map((pod) => [pod.ordinal, pod.revision]));
}

async function action(s: Scenario, unit: number, name: string, params: Record<string, unknown> = {}) {
  const outcome = await s.event(unit, { action: { name, params } });
  expect(outcome.action).toBeDefined();
  return outcome.action as NonNullable<typeof outcome.action>;
}

describe("a refresh with pause-after-unit-refresh=first", () => {
  it("pauses after the first unit, resumes on resume-refresh, and finishes by itself", async () => {
    const s = await deployed(3, "first");
    const r2 = s.world.jujuRefresh(V2);
    await s.settle();
    expect(revisionsOf(s)).toEqual({ 0: "db-rev1", 1: "db-rev1", 2: r2 });
    expect(s.world.partition).toBe(2);
    expect(s.world.appStatus?.status).toBe("blocked");
    expect(s.world.appStatus?.message).toContain(">=2");
    expect(s.world.unitStatuses.get(1)?.message).toBe("Database 14.9 running (restart pending); Charm revision 10");

    const resumed = await action(s, 0, "resume-refresh");
    expect(resumed.result).toEqual({ result: "Refresh resumed. Unit 1 is refreshing next" });
    expect(s.world.partition).toBe(1);
    expect(s.world.appStatus?.status).toBe("maintenance");

    await s.settle();
    expect(revisionsOf(s)).toEqual({ 0: r2, 1: r2, 2: r2 });
    await s.everyUnit();
    expect(s.world.inProgress).toBe(false);
    expect(s.world.partition).toBe(0);
    expect(s.world.appStatus).toEqual({ status: "active", message: "" });
    expect(s.world.appVersion).toBe("14.10");
    expect(JSON.parse(s.world.appDatabag["original_charm_version"] ?? "null")).toBe("14/1.1.0");
    expect(s.world.appDatabag["refresh_started_if_app_controller_revision_hash_in"]).toBeUndefined();
    for (const databag of s.world.unitDatabags.values()) {
      expect(databag["refresh_started_if_app_controller_revision_hash_in"]).toBeUndefined();
    }
    for (const pod of s.world.pods.values()) {
      expect(await readdir(join(pod.charmDir, ".charm_refresh_v3"))).not.toContain("kubernetes_refresh_started");
    }
  });

  it("moves the partition only as the invariants allow (checked after every step)", async () => {
    const s = await deployed(4, "first");
    s.world.jujuRefresh(V2);
    await s.settle();
    await action(s, 0, "resume-refresh");
    await s.settle();
    await s.everyUnit();
    expect(s.world.patches.map((patch) => [patch.unit, patch.from, patch.partition])).toEqual([
      [3, 0, 3], // unit 3's stop event freezes the lower units
      [0, 3, 2], // resume-refresh admits unit 2
      [0, 2, 1], // policy first: unit 1 goes once unit 2 is healthy
      [0, 1, 0],
    ]);
  });
});

describe("a refresh with pause-after-unit-refresh=all", () => {
  it("admits exactly one unit per resume-refresh", async () => {
    const s = await deployed(3, "all");
    const r2 = s.world.jujuRefresh(V2);
    await s.settle();
    expect(s.world.partition).toBe(2);
    expect((await action(s, 0, "resume-refresh")).result).toEqual({ result: "Unit 1 is refreshing next" });
    await s.settle();
    expect(revisionsOf(s)).toEqual({ 0: "db-rev1", 1: r2, 2: r2 });
    expect(s.world.partition).toBe(1);
    expect(s.world.appStatus?.status).toBe("blocked");
    expect((await action(s, 0, "resume-refresh")).result).toEqual({ result: "Unit 0 is refreshing next" });
    expect(s.world.appStatus?.status).toBe("maintenance");
    await s.settle();
    expect(s.world.inProgress).toBe(false);
  });

  it("treats an invalid value like all, and reports it once no refresh runs", async () => {
    const s = await deployed(2, "sometimes");
    expect(s.world.appStatus?.status).toBe("blocked");
    expect(s.world.appStatus?.message).toContain("pause-after-unit-refresh");
    s.world.jujuRefresh(V2);
    await s.settle();
    expect(s.world.partition).toBe(1);
  });
});

describe("a refresh with pause-after-unit-refresh=none", () => {
  it("follows health alone and refuses resume-refresh as not applicable", async () => {
    const s = await deployed(3, "none");
    s.world.jujuRefresh(V2);
    await s.kubernetesStep();
    const refused = await action(s, 0, "resume-refresh");
    expect(refused.failed).toContain("none");
    await s.settle();
    expect(s.world.inProgress).toBe(false);
  });

  it("waits for an unhealthy refreshed unit; check-health-of-refreshed-units=false goes past it", async () => {
    const s = await deployed(3, "none");
    s.behaviour.unhealthyUnits = new Set([2]);
    s.world.jujuRefresh(V2);
    await s.settle();
    expect(s.world.partition).toBe(2);
    const blocked = await action(s, 0, "resume-refresh", { "check-health-of-refreshed-units": true });
    expect(blocked.failed).toBeDefined();
    const forced = await action(s, 0, "resume-refresh", { "check-health-of-refreshed-units": false });
    expect(forced.logs).toHaveLength(1);
    expect(forced.result).toEqual({ result: "Attempting to refresh unit 1" });
    expect(s.world.partition).toBe(1);
  });
});

describe("resume-refresh", () => {
  it("must run on the leader and fails when no refresh runs", async () => {
    const s = await deployed(2);
    expect((await action(s, 1, "resume-refresh")).failed).toContain("juju run db/leader resume-refresh");
    expect((await action(s, 0, "resume-refresh")).failed).toBe("No refresh is in progress");
  });

  it("names the unhealthy unit and keeps the partition", async () => {
    const s = await deployed(3, "first");
    s.behaviour.unhealthyUnits = new Set([2]);
    s.world.jujuRefresh(V2);
    await s.settle();
    const outcome = await action(s, 0, "resume-refresh");
    expect(outcome.failed).toMatch(/^Unit 2 is unhealthy/);
    expect(s.world.partition).toBe(2);
  });

  it("answers once even when the leader also declares itself healthy in the same event", async () => {
    const s = await deployed(2, "all");
    s.world.jujuRefresh(V2);
    await s.settle();
    const outcome = await s.event(0, { action: { name: "resume-refresh" } });
    expect((outcome.toolCalls["action-set"] ?? 0) + (outcome.toolCalls["action-fail"] ?? 0)).toBe(1);
  });
});

describe("automatic checks on the highest unit", () => {
  it("block an incompatible refresh until force-refresh-start check-compatibility=false", async () => {
    const s = await deployed(3);
    s.world.jujuRefresh(V_MAJOR);
    await s.settle();
    expect(s.world.pods.get(2)?.workloadRunning).toBe(false);
    expect(s.world.unitStatuses.get(2)).toMatchObject({ status: "blocked" });
    expect(s.world.unitStatuses.get(2)?.message).toContain("incompatible");
    expect(s.world.partition).toBe(2);
    expect((await action(s, 0, "resume-refresh")).failed).toMatch(/^Unit 2 is unhealthy/);
    expect(s.world.logs.some((line) => line.level === "INFO" && line.message.includes("force-refresh-start check-compatibility=false"))).toBe(true);

    const forced = await action(s, 2, "force-refresh-start", { "check-compatibility": false });
    expect(forced.result).toEqual({ result: "Database refreshed on unit 2. Starting Database on unit 2" });
    expect(forced.logs).toEqual(expect.arrayContaining([expect.stringContaining("Skipping the compatibility check")]));
    expect(s.world.pods.get(2)?.workloadRunning).toBe(true);
    expect((await action(s, 2, "force-refresh-start", { "check-compatibility": false })).failed).toBe("Unit 2 already refreshed");
  });

  it("ask the charm's own rule with the original and pinned versions, and log its reason", async () => {
    const s = await deployed(2);
    const asked: string[] = [];
    s.behaviour.isCompatible = (input) => {
      asked.push(`${input.oldCharmVersion.toString()} ${input.oldWorkloadVersion} -> ${input.newCharmVersion.toString()} ${input.newWorkloadVersion}`);
      return input.newWorkloadVersion === input.oldWorkloadVersion;
    };
    s.world.jujuRefresh(V2);
    await s.settle();
    expect(asked[0]).toBe("14/1.0.0 14.9 -> 14/1.1.0 14.10");
    expect(s.world.unitStatuses.get(1)?.message).toContain("incompatible");
    expect(s.world.logs.some((line) => line.message.includes("compatibility rule refuses the refresh from 14/1.0.0 (workload 14.9)"))).toBe(true);
  });

  it("keep the workload stopped when a pre-refresh check fails, and run again every event", async () => {
    const s = await deployed(3);
    s.behaviour.precheckFailure = "Backup in progress";
    s.world.jujuRefresh(V2);
    await s.settle();
    expect(s.world.pods.get(2)?.workloadRunning).toBe(false);
    expect(s.world.unitStatuses.get(2)?.message).toBe("Roll back with `juju refresh`. Pre-refresh check failed: Backup in progress");
    const errors = s.world.logs.filter((line) => line.level === "ERROR");
    expect(errors.at(-1)?.message).toContain("juju refresh db --revision 10 --resource db-image=registry.example/db-image@sha256:aaaa");
    const calls = s.precheckCalls;
    await s.event(2);
    expect(s.precheckCalls).toBe(calls + 1);

    const stillFailing = await action(s, 2, "force-refresh-start", { "check-compatibility": false });
    expect(stillFailing.failed).toContain("Pre-refresh check failed: Backup in progress");
    const forced = await action(s, 2, "force-refresh-start", { "run-pre-refresh-checks": false });
    expect(forced.result).toBeDefined();
    delete s.behaviour.precheckFailure;
    await s.event(2);
    expect(s.world.unitStatuses.get(2)?.message).not.toContain("Pre-refresh");
  });

  it("refuse a refresh whose OCI resource does not match the pin", async () => {
    const s = await deployed(3);
    s.world.jujuRefresh(V2_WRONG_IMAGE);
    await s.settle();
    expect(s.world.unitStatuses.get(2)?.message).toContain("OCI resource");
    expect(s.precheckCalls).toBe(0);
    // Skipping only the container check still fails compatibility: the new image is not the pinned one.
    const onlyContainer = await action(s, 2, "force-refresh-start", { "check-workload-container": false });
    expect(onlyContainer.failed).toContain("incompatible");
    const both = await action(s, 2, "force-refresh-start", { "check-workload-container": false, "check-compatibility": false });
    expect(both.result).toBeDefined();
    expect(s.precheckCalls).toBe(1);
    expect(s.world.unitStatuses.get(2)?.message).toContain("Unexpected container aaaa00");
  });
});

describe("force-refresh-start", () => {
  it("fails with the first reason that applies", async () => {
    const s = await deployed(3);
    expect((await action(s, 1, "force-refresh-start", { "check-compatibility": false })).failed).toBe("Run this action on unit 2, the highest unit");
    expect((await action(s, 2, "force-refresh-start", { "check-compatibility": false })).failed).toBe("No refresh is in progress");
    s.world.jujuRefresh(V_MAJOR);
    expect((await action(s, 2, "force-refresh-start")).failed).toContain("at least one");
    expect((await action(s, 2, "force-refresh-start", { "check-compatibility": false })).failed).toBe(
      "Unit 2 is outdated and waiting for Kubernetes to replace its pod",
    );
    expect((await action(s, 2, "force-refresh-start", { "check-compatibility": "no" })).failed).toContain("check-compatibility");
  });
});

describe("rollback", () => {
  it("half way skips every check and returns all units to the original versions", async () => {
    const s = await deployed(4, "first");
    s.world.jujuRefresh(V2);
    await s.settle();
    await action(s, 0, "resume-refresh");
    await s.kubernetesStep();
    await s.everyUnit();
    const checksBefore = s.precheckCalls;
    const rollback = s.world.jujuRefresh(V1);
    await s.settle();
    await action(s, 0, "resume-refresh");
    await s.settle();
    await s.everyUnit();
    expect(s.precheckCalls).toBe(checksBefore);
    expect(s.world.logs.some((line) => line.message.startsWith("Rollback detected"))).toBe(true);
    expect(Object.values(revisionsOf(s)).every((revision) => revision === rollback)).toBe(true);
    expect(s.world.inProgress).toBe(false);
    expect(JSON.parse(s.world.appDatabag["original_charm_version"] ?? "null")).toBe("14/1.0.0");
  });

  it("to a third version mid-refresh checks it against the original versions", async () => {
    const s = await deployed(3, "first");
    s.world.jujuRefresh(V2);
    await s.settle();
    const checks = s.precheckCalls;
    s.world.jujuRefresh(V3);
    await s.settle();
    expect(s.precheckCalls).toBeGreaterThan(checks);
    expect(s.world.logs.some((line) => line.message.includes("from Database 14.9") && line.message.includes("to Database 14.11"))).toBe(true);
    expect(JSON.parse(s.world.appDatabag["original_charm_version"] ?? "null")).toBe("14/1.0.0");
  });
});

describe("scaling during a refresh", () => {
  it("scale-down: departing units tear down and the partition never stays above the highest remaining unit", async () => {
    const s = await deployed(4, "first");
    s.world.jujuRefresh(V2);
    await s.settle();
    expect(s.world.partition).toBe(3);
    // Juju removes unit 3: it learns it is departing, its peers learn it too.
    const departing = await s.event(3, { hook: "refresh-v-three-relation-departed", departingUnit: 3 });
    expect(departing.error).toMatchObject({ code: "UNIT_TEARING_DOWN" });
    expect((await action(s, 3, "resume-refresh")).failed).toBe("Unit tearing down");
    for (const unit of [2, 1, 0]) await s.event(unit, { hook: "refresh-v-three-relation-departed", departingUnit: 3 });
    expect((await s.event(3, { hook: "stop" })).error).toMatchObject({ code: "UNIT_TEARING_DOWN" });
    expect(s.world.partition).toBeLessThanOrEqual(3);
    s.world.pods.delete(3);
    s.world.relationCreated.delete(3);
    await s.everyUnit();
    expect(s.world.partition).toBeLessThanOrEqual(2);
    expect(s.world.logs.filter((line) => line.unit === 3 && line.message.startsWith("Unit tearing down"))).toHaveLength(1);
  });

  it("scale-up: a new unit waits for the peer relation and then follows the refresh", async () => {
    const s = await deployed(2, "first");
    const r2 = s.world.jujuRefresh(V2);
    await s.settle();
    await s.world.createPod(2);
    const early = await s.event(2, { hook: "install" });
    expect(early.error).toMatchObject({ code: "PEER_RELATION_NOT_READY" });
    expect(s.world.pods.get(2)?.workloadRunning).toBe(false);
    s.world.relationCreated.add(2);
    await s.event(2, { hook: "refresh-v-three-relation-created" });
    expect(s.world.pods.get(2)?.revision).toBe(r2);
    expect(s.world.pods.get(2)?.workloadRunning).toBe(true);
    await s.everyUnit();
    await action(s, 0, "resume-refresh");
    await s.settle();
    expect(s.world.inProgress).toBe(false);
  });
});

describe("disruptions", () => {
  it("a leader change mid-refresh continues from the new leader", async () => {
    const s = await deployed(3, "first");
    s.world.jujuRefresh(V2);
    await s.settle();
    s.world.leader = 1;
    await s.everyUnit("leader-elected");
    expect((await action(s, 1, "resume-refresh")).result).toBeDefined();
    await s.settle();
    await s.everyUnit();
    expect(s.world.inProgress).toBe(false);
    expect(s.world.partition).toBe(0);
  });

  it("an evicted refreshed pod raises the partition to its own number on its first event", async () => {
    const s = await deployed(3, "none");
    s.behaviour.unhealthyUnits = new Set([1]);
    s.world.jujuRefresh(V2);
    await s.settle();
    expect(s.world.partition).toBe(1);
    s.world.partition = 0; // a user (or the leader of another event) lowered it meanwhile
    await s.world.recreatePod(2);
    await s.event(2, { hook: "upgrade-charm" });
    expect(s.world.partition).toBe(2);
    expect(s.world.patches.at(-1)).toMatchObject({ unit: 2, partition: 2 });
    await s.everyUnit();
    expect(s.world.partition).toBe(1);
  });

  it("an untrusted app fails every unit before reading anything else, with the status on the leader", async () => {
    const s = await deployed(2);
    s.world.trusted = false;
    const leader = await s.event(0);
    expect(leader.error).toBeInstanceOf(KubernetesJujuAppNotTrusted);
    expect(leader.requests).toEqual({ review: 1 });
    expect(leader.toolCalls["relation-get"]).toBeUndefined();
    expect(s.world.appStatus).toEqual({ status: "blocked", message: "Run `juju trust db --scope=cluster`: in-place refreshes need it" });
    const follower = await s.event(1, { action: { name: "resume-refresh" } });
    expect(follower.error).toBeInstanceOf(KubernetesJujuAppNotTrusted);
    expect(follower.toolCalls["status-set"]).toBeUndefined();
    expect(follower.action?.failed).toBeUndefined();
  });

  it.each(["server-error", "timeout"] as const)("an API %s fails the hook without committing databag writes, and the next event recovers", async (fault) => {
    const s = await deployed(3, "first");
    s.world.jujuRefresh(V2);
    await s.kubernetesStep();
    const before = { ...s.world.unitDatabags.get(0) };
    s.world.faults = [fault];
    const failed = await s.event(0);
    expect(failed.error).toMatchObject({ code: fault === "timeout" ? "KUBERNETES_TIMEOUT" : "KUBERNETES_SERVER_ERROR" });
    expect(s.world.unitDatabags.get(0)).toEqual(before);
    await s.settle();
    expect(s.world.partition).toBe(2);
  });

  it("a single-unit app refreshes without checks and records the new versions", async () => {
    const s = await deployed(1);
    s.world.jujuRefresh(V2);
    await s.settle();
    await s.everyUnit();
    expect(s.world.inProgress).toBe(false);
    expect(s.world.pods.get(0)?.workloadRunning).toBe(true);
    expect(JSON.parse(s.world.appDatabag["original_charm_version"] ?? "null")).toBe("14/1.1.0");
  });

  it("the stop event raises the partition even before the peer relation exists", async () => {
    const s = await deployed(2);
    s.world.jujuRefresh(V2);
    s.world.relationCreated.delete(1);
    const stop = await s.event(1, { hook: "stop" });
    expect(stop.error).toMatchObject({ code: "PEER_RELATION_NOT_READY" });
    expect(s.world.partition).toBe(1);
  });
});

describe("races and broken state", () => {
  it("the leader does not reset the partition when a refresh lands during its idle event", async () => {
    const s = await deployed(3);
    s.world.partition = 1; // left behind, e.g. by a stop event racing the end of the last refresh
    let reads = 0;
    s.world.beforeRequest = (name) => {
      if (name === "readStatefulSet" && ++reads === 2) {
        s.world.jujuRefresh(V2);
        s.world.partition = 2; // unit 2's stop event raised it meanwhile
      }
    };
    await s.event(0);
    s.world.beforeRequest = undefined;
    expect(s.world.partition).toBe(2);
    expect(s.world.patches.filter((patch) => patch.partition === 0)).toEqual([]);
  });

  it("a departing unit whose pod is already gone still reports that it tears down", async () => {
    const s = await deployed(3);
    await s.event(2, { hook: "refresh-v-three-relation-departed", departingUnit: 2 });
    s.world.deletedPods.add(2);
    const outcome = await s.event(2, { hook: "stop" });
    expect(outcome.error).toMatchObject({ code: "UNIT_TEARING_DOWN" });
  });

  it("a refresh from a charm that never saved original versions stops with a clear error and leaves actions unanswered", async () => {
    const s = await deployed(2);
    for (const key of Object.keys(s.world.appDatabag)) {
      if (key.startsWith("original_")) delete s.world.appDatabag[key];
    }
    s.world.jujuRefresh(V2);
    const outcome = await s.event(0, { action: { name: "resume-refresh" } });
    expect(outcome.error).toMatchObject({ code: "ORIGINAL_VERSIONS_INVALID" });
    expect(outcome.action?.failed).toBeUndefined();
    expect(outcome.action?.result).toBeUndefined();
  });
});

describe("pre-refresh-check", () => {
  it("on the leader before a refresh answers with instructions, the rollback command and the pause behaviour", async () => {
    const s = await deployed(2, "first");
    const outcome = await action(s, 0, "pre-refresh-check");
    const text = outcome.result?.["result"] ?? "";
    expect(text).toContain("https://charmhub.io/db-k8s/docs/refresh/14/1.0.0");
    expect(text).toContain("`juju refresh db --revision 10 --resource db-image=registry.example/db-image@sha256:aaaa");
    expect(text).toContain("after the first unit");
    expect(s.precheckCalls).toBe(1);
  });

  it("fails on a non-leader, during a refresh, and when a check fails — without running checks needlessly", async () => {
    const s = await deployed(2);
    expect((await action(s, 1, "pre-refresh-check")).failed).toContain("juju run db/leader pre-refresh-check");
    s.behaviour.precheckFailure = "Cluster degraded";
    expect((await action(s, 0, "pre-refresh-check")).failed).toContain("Cluster degraded");
    s.world.jujuRefresh(V2);
    const calls = s.precheckCalls;
    expect((await action(s, 0, "pre-refresh-check")).failed).toContain("already in progress");
    expect(s.precheckCalls).toBe(calls);
  });
});

describe("setting the workload version", () => {
  it("fails the event before a pre-refresh-check runs or answers when application-version-set fails", async () => {
    const s = await deployed(2, "first");
    s.world.failingVersionSet.add(0);
    const outcome = await s.event(0, { action: { name: "pre-refresh-check" } });
    expect(outcome.error).toMatchObject({ code: "HOOK_TOOL_FAILED", tool: "application-version-set" });
    expect(outcome.action?.result).toBeUndefined();
    expect(s.precheckCalls).toBe(0);

    s.world.failingVersionSet.delete(0);
    expect((await action(s, 0, "pre-refresh-check")).result?.["result"]).toContain("juju refresh db");
  });
});

describe("the per-event cost", () => {
  it("stays within N + 10 hook-tool calls and writes nothing in steady state", async () => {
    const units = 5;
    const s = await deployed(units);
    await s.everyUnit();
    for (const unit of [0, 3]) {
      const outcome = await s.event(unit);
      const total = Object.values(outcome.toolCalls).reduce((sum, count) => sum + count, 0);
      expect(total).toBeLessThanOrEqual(units + 10);
      expect(outcome.toolCalls["relation-set"]).toBeUndefined();
      expect(outcome.requests).toEqual({ review: 1, readStatefulSet: 1, listPods: 1 });
    }
  });
});

describe("the invariants hold whatever the order of events", () => {
  it("over random refresh histories", async () => {
    const step = fc.oneof(
      fc.constant({ kind: "kubernetes" as const }),
      fc.record({ kind: fc.constant("event" as const), unit: fc.nat(3) }),
      fc.record({ kind: fc.constant("resume" as const), check: fc.boolean() }),
      fc.record({ kind: fc.constant("evict" as const), unit: fc.nat(3) }),
      fc.record({ kind: fc.constant("leader" as const), unit: fc.nat(3) }),
      fc.record({ kind: fc.constant("refresh" as const), to: fc.constantFrom(V1, V2, V3, V_MAJOR) }),
      fc.record({ kind: fc.constant("pause" as const), value: fc.constantFrom("all", "first", "none") }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        const s = await Scenario.create(4, V1);
        try {
          await s.everyUnit("install");
          for (const next of steps) {
            switch (next.kind) {
              case "kubernetes":
                await s.kubernetesStep();
                break;
              case "event":
                await s.event(next.unit);
                break;
              case "resume":
                await s.event(s.world.leader, { action: { name: "resume-refresh", params: { "check-health-of-refreshed-units": next.check } } });
                break;
              case "evict": {
                const before = s.world.pods.get(next.unit)?.revision;
                const after = (await s.world.recreatePod(next.unit)).revision;
                // Kubernetes recreates an evicted outdated pod at the new revision when the
                // partition is at or below it (e.g. 0 right after `juju refresh`): no charm can
                // prevent that, so only the workload gate protects it. Stop counting "units
                // ahead of the health checks" from then on; every other invariant still holds.
                if (before !== after) s.forced = true;
                await s.event(next.unit, { hook: "upgrade-charm" });
                break;
              }
              case "leader":
                s.world.leader = next.unit;
                await s.event(next.unit, { hook: "leader-elected" });
                break;
              case "refresh":
                s.world.jujuRefresh(next.to);
                break;
              case "pause":
                s.world.config["pause-after-unit-refresh"] = next.value;
                break;
            }
          }
          expect(s.violations).toEqual([]);
        } finally {
          await s.dispose();
        }
      }),
      { numRuns: 30, seed: 20261122 },
    );
  }, 120_000);
});
