import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RefreshError } from "@refresh/core";
import type { CharmHandler } from "@refresh/juju";
import { describe, expect, it } from "vitest";
import { charm, idle, simulatorsDisposedAfterEach } from "./fixtures.test-helpers.js";
import { HookKilledError } from "./hook-tools.js";
import type { Simulator } from "./simulator.js";

const make = simulatorsDisposedAfterEach();

function hooksAfter(sim: Simulator, unit: string, step: number): string[] {
  return sim.history.filter((r) => r.unit === unit && r.step > step).map((r) => `${r.hook}@${r.charmRevision}`);
}

describe("Kubernetes refresh", () => {
  it("replaces pods from the highest ordinal down; stop runs on old code, the new pod on new code", async () => {
    const sim = await make({ charms: [charm(1, idle), charm(2, idle)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    const mark = sim.history.length;
    const uids = sim.units.map((u) => sim.pod(u)?.uid);
    sim.refresh({ to: 2 });
    await sim.settle();
    for (const unit of sim.units) {
      const hooks = hooksAfter(sim, unit, mark).filter((h) => !h.startsWith("refresh-v-three"));
      const leaderHook = unit === sim.leader ? [] : ["leader-settings-changed@2"];
      expect(hooks).toEqual(["stop@1", "upgrade-charm@2", "config-changed@2", ...leaderHook, "start@2"]);
      expect(sim.charmRevision(unit)).toBe(2);
    }
    const stops = sim.history.filter((r) => r.step > mark && r.hook === "stop").map((r) => r.unit);
    expect(stops).toEqual(["db/2", "db/1", "db/0"]);
    expect(sim.units.map((u) => sim.pod(u)?.uid)).not.toEqual(uids);
    expect(sim.statefulSet?.currentRevision).toBe(sim.statefulSet?.updateRevision);
  });

  it("stops at the partition and waits for readiness of the replaced pod", async () => {
    const sim = await make({ charms: [charm(1, idle), charm(2, idle)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    sim.statefulSet?.setPartition(2);
    sim.refresh({ to: 2 });
    await sim.settle();
    expect(sim.units.map((u) => sim.charmRevision(u))).toEqual([1, 1, 2]);
    // An unready refreshed pod holds the rollout even when the partition allows more.
    sim.setWorkloadHealth("db/2", false);
    sim.statefulSet?.setPartition(0);
    await sim.settle();
    expect(sim.units.map((u) => sim.charmRevision(u))).toEqual([1, 1, 2]);
    sim.setWorkloadHealth("db/2", true);
    await sim.settle();
    expect(sim.units.map((u) => sim.charmRevision(u))).toEqual([2, 2, 2]);
  });

  it("gives a replaced pod a fresh charm directory, so local files are lost", async () => {
    const handler: CharmHandler = async ({ context }) => {
      if (context.event.name === "install") await writeFile(join(context.charmDir, "local-marker"), "x");
    };
    const sim = await make({ charms: [charm(1, handler), charm(2, handler)] });
    await sim.deploy({ units: 1 });
    await sim.settle();
    await expect(readFile(join(sim.charmDir("db/0"), "local-marker"), "utf8")).resolves.toBe("x");
    sim.refresh({ to: 2 });
    await sim.settle();
    await expect(readFile(join(sim.charmDir("db/0"), "local-marker"), "utf8")).rejects.toThrow();
    expect(await readFile(join(sim.charmDir("db/0"), ".juju-charm"), "utf8")).toBe("ch:amd64/jammy/db-2\n");
  });

  it("restarts every pod on rollback, including pods that never left the old revision", async () => {
    const sim = await make({ charms: [charm(1, idle), charm(2, idle)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    sim.statefulSet?.setPartition(2);
    sim.refresh({ to: 2 });
    await sim.settle();
    const mark = sim.history.length;
    sim.statefulSet?.setPartition(0);
    sim.refresh({ to: 1 });
    await sim.settle();
    for (const unit of sim.units) {
      expect(hooksAfter(sim, unit, mark)).toContain("upgrade-charm@1");
      expect(sim.charmRevision(unit)).toBe(1);
    }
  });

  it("brings an evicted pod back on the revision the partition dictates", async () => {
    const sim = await make({ charms: [charm(1, idle), charm(2, idle)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    sim.statefulSet?.setPartition(2);
    sim.refresh({ to: 2 });
    await sim.settle();
    const uid = sim.pod("db/0")?.uid;
    const mark = sim.history.length;
    sim.evict("db/0");
    await sim.settle();
    expect(sim.pod("db/0")?.uid).not.toBe(uid);
    expect(sim.charmRevision("db/0")).toBe(1);
    expect(hooksAfter(sim, "db/0", mark).filter((h) => !h.startsWith("refresh"))[0]).toBe("stop@1");
    expect(hooksAfter(sim, "db/0", mark)).toContain("start@1");
  });
});

describe("machines refresh", () => {
  it("swaps charm code on every unit in place; local files survive; .juju-charm gets a later mtime", async () => {
    const handler: CharmHandler = async ({ context }) => {
      if (context.event.name === "install") await writeFile(join(context.charmDir, ".charm_refresh_v3-marker"), "kept");
    };
    const sim = await make({ substrate: "machines", charms: [charm(1, handler), charm(2, handler)] });
    await sim.deploy({ units: 2 });
    await sim.settle();
    const before = (await stat(join(sim.charmDir("db/0"), ".juju-charm"))).mtimeMs;
    const mark = sim.history.length;
    sim.refresh({ to: 2 });
    await sim.settle();
    for (const unit of sim.units) {
      const leaderHook = unit === sim.leader ? [] : ["leader-settings-changed@2"];
      expect(hooksAfter(sim, unit, mark)).toEqual(["upgrade-charm@2", "config-changed@2", ...leaderHook, "start@2"]);
      expect(await readFile(join(sim.charmDir(unit), ".charm_refresh_v3-marker"), "utf8")).toBe("kept");
    }
    expect((await stat(join(sim.charmDir("db/0"), ".juju-charm"))).mtimeMs).toBeGreaterThan(before);
  });

  it("reproduces LP #2068500: new code without upgrade-charm on a failing unit", async () => {
    let failing = true;
    const handler: CharmHandler = async ({ context }) => {
      if (failing && context.unitName === "db/1" && context.event.name === "update-status") throw new Error("crash");
    };
    const sim = await make({ substrate: "machines", charms: [charm(1, handler), charm(2, handler)], reproduceLp2068500: true, retryFailedHooks: false });
    await sim.deploy({ units: 2 });
    await sim.settle();
    sim.fireUpdateStatus();
    await sim.settle();
    expect(sim.unitStatus("db/1").status).toBe("error");
    failing = false;
    const mark = sim.history.length;
    sim.refresh({ to: 2 });
    await sim.settle();
    expect(hooksAfter(sim, "db/1", mark)).not.toContain("upgrade-charm@2");
    expect(hooksAfter(sim, "db/1", mark)).toContain("config-changed@2");
    expect(hooksAfter(sim, "db/0", mark)).toContain("upgrade-charm@2");
    expect(sim.charmRevision("db/1")).toBe(2);
  });
});

describe("scale and leadership", () => {
  it("removes a unit: departed on both sides with JUJU_DEPARTING_UNIT, then stop and remove, no relation-broken", async () => {
    const departing: string[] = [];
    const goal: string[] = [];
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name.endsWith("-relation-departed")) departing.push(`${context.unitName}:${context.remoteUnit}:${context.departingUnit}`);
      if (context.unitName === "db/0" && context.event.name.endsWith("-relation-departed")) {
        goal.push(JSON.stringify((await tools.goalState()).units["db/2"]?.status));
      }
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    sim.removeUnit();
    await sim.settle();
    expect(departing.sort()).toEqual(["db/0:db/2:db/2", "db/1:db/2:db/2", "db/2:db/0:db/2", "db/2:db/1:db/2"]);
    expect(goal).toEqual(['"dying"']);
    const teardown = sim.hooksOf("db/2").slice(-4);
    expect(teardown.slice(-2)).toEqual(["stop", "remove"]);
    expect(sim.history.some((r) => r.hook.endsWith("-relation-broken"))).toBe(false);
    expect(sim.units).toEqual(["db/0", "db/1"]);
  });

  it("adds a unit that runs the install sequence and joins its peers", async () => {
    const sim = await make({ charms: [charm(1, idle)] });
    await sim.deploy({ units: 2 });
    await sim.settle();
    const [added] = await sim.addUnit();
    await sim.settle();
    expect(added).toBe("db/2");
    expect(sim.hooksOf("db/2").slice(0, 5)).toEqual(["install", "refresh-v-three-relation-created", "leader-settings-changed", "config-changed", "start"]);
    expect(sim.hooksOf("db/0")).toContain("refresh-v-three-relation-joined");
  });

  it("moves leadership: leader-elected on the new leader, leader-settings-changed elsewhere; is-leader follows", async () => {
    const leaders: string[] = [];
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name === "leader-elected" && (await tools.isLeader())) leaders.push(context.unitName);
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    const next = sim.units.find((u) => u !== sim.leader) ?? "";
    const mark = sim.history.length;
    sim.setLeader(next);
    await sim.settle();
    expect(leaders.at(-1)).toBe(next);
    for (const unit of sim.units) {
      expect(hooksAfter(sim, unit, mark)).toEqual([unit === next ? "leader-elected@1" : "leader-settings-changed@1"]);
    }
  });
});

describe("config", () => {
  it("applies defaults, fires one config-changed for several juju config calls, and validates types", async () => {
    const seen: unknown[] = [];
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.unitName === "db/0" && context.event.name === "config-changed") seen.push(await tools.configGet());
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 1 });
    await sim.settle();
    expect(seen).toEqual([{ "pause-after-unit-refresh": "first", replicas: 1 }]);
    sim.config({ replicas: "3" });
    sim.config({ note: "hello" });
    await sim.settle();
    expect(seen).toEqual([{ "pause-after-unit-refresh": "first", replicas: 1 }, { "pause-after-unit-refresh": "first", replicas: 3, note: "hello" }]);
    expect(() => sim.config({ replicas: "many" })).toThrow(/replicas.*int/);
    expect(() => sim.config({ unknown: "x" })).toThrow(/not declared/);
  });

  it("keeps outdated Kubernetes units on their revision's settings, without config-changed (LP #2084886)", async () => {
    const sim = await make({ charms: [charm(1, idle), charm(2, idle)] });
    await sim.deploy({ units: 2 });
    await sim.settle();
    sim.statefulSet?.setPartition(1);
    sim.refresh({ to: 2 });
    await sim.settle();
    const mark = sim.history.length;
    sim.config({ replicas: 4 });
    await sim.settle();
    expect(hooksAfter(sim, "db/1", mark)).toEqual(["config-changed@2"]);
    expect(hooksAfter(sim, "db/0", mark)).toEqual([]);
  });
});

describe("actions", () => {
  it("validates parameters, applies defaults and captures results, failure and logs", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.kind !== "action") return;
      const params = await tools.actionGet();
      await tools.actionLog("working");
      await tools.actionSet({ "result.checked": String(params["check-health-of-refreshed-units"]) });
      if (context.unitName === "db/1") await tools.actionFail("not on this unit");
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 2 });
    await sim.settle();
    const ok = await sim.runAction("db/0", "resume-refresh");
    expect(ok).toMatchObject({ status: "completed", results: { result: { checked: "true" } }, logs: ["working"] });
    const failed = await sim.runAction("db/1", "resume-refresh", { "check-health-of-refreshed-units": false });
    expect(failed).toMatchObject({ status: "failed", message: "not on this unit", results: { result: { checked: "false" } } });
    expect(sim.unitStatus("db/1").status).not.toBe("error");
    await expect(sim.runAction("db/0", "resume-refresh", { bogus: 1 })).rejects.toThrow(/bogus/);
    await expect(sim.runAction("db/0", "resume-refresh", { "check-health-of-refreshed-units": "yes" })).rejects.toThrow(/boolean/);
    await expect(sim.runAction("db/0", "echo")).rejects.toThrow(/text: required/);
    await expect(sim.runAction("db/0", "nope")).rejects.toThrow(/not defined/);
  });

  it("runs on the leader when asked for \"leader\" and fails action tools outside actions", async () => {
    const errors: string[] = [];
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.kind === "action") {
        await tools.actionSet({ unit: context.unitName.replace("/", "-") });
        return;
      }
      if (context.event.name === "start") await tools.actionGet().catch((error: { code: string }) => errors.push(error.code));
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 3 });
    await sim.settle();
    const outcome = await sim.runAction("leader", "resume-refresh");
    expect(outcome.unit).toBe(sim.leader);
    expect(errors).toEqual(["HOOK_TOOL_FAILED", "HOOK_TOOL_FAILED", "HOOK_TOOL_FAILED"]);
  });
});

describe("failures, scheduling and invariants", () => {
  it("puts a unit in error on a failing hook and retries it; writes before the failure point are lost", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name !== "update-status") return;
      await tools.relationSet("refresh-v-three:0", { tick: "1" });
      await tools.statusSet({ status: "active", message: "ticked" });
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 1 });
    await sim.settle();
    sim.failNextHook("db/0", { atToolCall: 2 });
    sim.fireUpdateStatus();
    const before = sim.history.length;
    while (sim.history.length === before) await sim.step();
    expect(sim.history.at(-1)).toMatchObject({ hook: "update-status", outcome: "failed" });
    expect(sim.unitStatus("db/0")).toEqual({ status: "error", message: 'hook failed: "update-status"' });
    expect(sim.unitData("db/0")["tick"]).toBeUndefined();
    await sim.settle();
    expect(sim.history.at(-1)).toMatchObject({ hook: "update-status", outcome: "succeeded", toolCalls: { "relation-set": 1, "status-set": 1 } });
    expect(sim.unitData("db/0")["tick"]).toBe("1");
    expect(sim.unitStatus("db/0")).toEqual({ status: "active", message: "ticked" });
  });

  it("tells a killed hook's tool calls apart by code HOOK_KILLED, outside the RefreshError family charms handle", async () => {
    const seen: unknown[] = [];
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name !== "update-status") return;
      try {
        await tools.jujuLog("INFO", "first");
        await tools.jujuLog("INFO", "second");
      } catch (error) {
        seen.push(error);
        throw error;
      }
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 1 });
    await sim.settle();
    sim.failNextHook("db/0", { atToolCall: 2 });
    sim.fireUpdateStatus();
    const before = sim.history.length;
    while (sim.history.length === before) await sim.step();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(HookKilledError);
    expect(seen[0]).not.toBeInstanceOf(RefreshError);
    expect(seen[0]).toMatchObject({ code: "HOOK_KILLED", reason: "fault injected at tool call 2 (juju-log)" });
  });

  it("replays the same interleaving for the same seed and a different one for another seed", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      for (let i = 0; i < 3; i += 1) await tools.jujuLog("INFO", `${context.event.name} ${i}`);
    };
    async function trace(seed: number): Promise<string> {
      const sim = await make({ charms: [charm(1, handler)], seed });
      await sim.deploy({ units: 3 });
      await sim.settle();
      return sim.logs.map((l) => `${l.unit} ${l.message}`).join("\n");
    }
    const first = await trace(5);
    expect(await trace(5)).toBe(first);
    expect(await trace(6)).not.toBe(first);
    // Hooks of different units really interleave at tool calls.
    const lines = first.split("\n");
    expect(lines.some((line, i) => i > 0 && line.split(" ")[0] !== lines[i - 1]?.split(" ")[0] && line.endsWith(" 1"))).toBe(true);
  });

  it("collects invariant violations with the step and the hook after which they appeared", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name === "start") await tools.statusSet({ status: "blocked", message: "stuck" });
    };
    const sim = await make({ charms: [charm(1, handler)], concurrency: "serial" });
    sim.addInvariant("no blocked units", (s) => {
      const blocked = s.units.filter((u) => s.unitStatus(u).status === "blocked");
      return blocked.length > 0 ? `${blocked.join(", ")} blocked` : undefined;
    });
    await sim.deploy({ units: 1 });
    await sim.settle();
    expect(sim.violations[0]).toMatchObject({ afterHook: "start", unit: "db/0", invariant: "no blocked units", explanation: "db/0 blocked", step: 5 });
  });

  it("throws a readable error when the model never settles", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name.endsWith("-relation-changed")) await tools.relationSet("refresh-v-three:0", { nonce: `${context.unitName}-${Math.random()}` });
    };
    const sim = await make({ charms: [charm(1, handler)] });
    await sim.deploy({ units: 2 });
    await expect(sim.settle({ maxSteps: 200 })).rejects.toThrow(/did not settle within 200 scheduler steps \(seed 7\)/);
  });

  it("shows a juju status-like table with leader marker, versions and revisions", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name !== "start") return;
      await tools.applicationVersionSet("14.9");
      await tools.statusSet({ status: "active", message: "" });
      if (await tools.isLeader()) await tools.statusSet({ status: "active", message: "all good" }, { application: true });
    };
    const sim = await make({ substrate: "machines", charms: [charm(3, handler)], seed: 2 });
    await sim.deploy({ units: 2 });
    await sim.settle();
    const view = sim.status();
    expect(view.app).toMatchObject({ name: "db", status: "active", message: "all good", version: "14.9", charmRevision: 3, scale: 2 });
    const table = sim.statusTable().split("\n");
    expect(table[0]).toMatch(/^App\s+Version\s+Status\s+Scale\s+Rev\s+Message$/);
    const leaderLine = table.find((line) => line.startsWith(`${sim.leader}*`));
    expect(leaderLine).toMatch(/active\s+idle\s+14\.9\s+3/);
    const header = table.find((line) => line.startsWith("Unit")) ?? "";
    expect(leaderLine?.indexOf("14.9")).toBe(header.indexOf("Version"));
  });
});
