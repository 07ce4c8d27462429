import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  HookToolFailed,
  HookToolOutputInvalid,
  InvalidActionResultKey,
  NotLeader,
  PermissionDenied,
  RelationNotFound,
  UnknownHookTool,
} from "./errors.js";
import { createHookTools } from "./process-hook-tools.js";
import type { ProcessHookTools } from "./process-hook-tools.js";
import { createFakeToolbox } from "./test-support/fake-tools.js";
import type { FakeToolbox } from "./test-support/fake-tools.js";

const PEER = "refresh-v-three:3";

let box: FakeToolbox;
let tools: ProcessHookTools;

beforeEach(async () => {
  box = await createFakeToolbox();
  tools = createHookTools({ env: box.env(), unitName: "db/0" });
});

afterEach(async () => {
  await box.cleanup();
});

describe("reads", () => {
  it("lists relation ids with --format=json and reads them once per hook", async () => {
    await box.install("relation-ids", { stdout: '["refresh-v-three:3"]\n' });
    expect(await tools.relationIds("refresh-v-three")).toEqual([PEER]);
    expect(await tools.relationIds("refresh-v-three")).toEqual([PEER]);
    expect(await box.calls()).toEqual([
      { tool: "relation-ids", args: ["--format=json", "--", "refresh-v-three"], stdin: undefined },
    ]);
    expect(tools.stats()).toEqual({ "relation-ids": 1 });
  });

  it("lists related units and the related application of a relation", async () => {
    await box.install("relation-list", { stdout: '["db/1","db/2"]' });
    expect(await tools.relationList(PEER)).toEqual(["db/1", "db/2"]);
    await box.install("relation-list", { stdout: '"db"' });
    expect(await tools.relationListApp(PEER)).toBe("db");
    expect((await box.calls()).map((call) => call.args)).toEqual([
      ["--format=json", "-r", PEER],
      ["--format=json", "-r", PEER, "--app"],
    ]);
  });

  it("treats null output of relation-list as no units", async () => {
    await box.install("relation-list", { stdout: "null" });
    expect(await tools.relationList(PEER)).toEqual([]);
  });

  it("reads a remote unit databag and an application databag once each, and callers cannot corrupt the cached copy", async () => {
    await box.install("relation-get", { stdout: '{"private-address":"10.0.0.2","state":"idle"}' });
    const first = await tools.relationGet(PEER, { unit: "db/1" });
    expect(first).toEqual({ "private-address": "10.0.0.2", state: "idle" });
    first["state"] = "tampered";
    expect(await tools.relationGet(PEER, { unit: "db/1" })).toEqual({ "private-address": "10.0.0.2", state: "idle" });

    await box.install("relation-get", { stdout: '{"versions":"{}"}' });
    expect(await tools.relationGet(PEER, { app: "db" })).toEqual({ versions: "{}" });
    await tools.relationGet(PEER, { app: "db" });

    expect((await box.calls()).map((call) => call.args)).toEqual([
      ["--format=json", "-r", PEER, "-", "db/1"],
      ["--format=json", "-r", PEER, "--app", "-", "db"],
    ]);
  });

  it("asks Juju for leadership again once the reuse window is over, and never again after a false", async () => {
    let now = 1_000;
    tools = createHookTools({ env: box.env(), now: () => now, leadershipReuseMs: 30_000 });
    await box.install("is-leader", { stdout: "true" });
    expect(await tools.isLeader()).toBe(true);
    now += 29_999;
    expect(await tools.isLeader()).toBe(true);
    expect(tools.stats()["is-leader"]).toBe(1);

    now += 2;
    await box.install("is-leader", { stdout: "false" });
    expect(await tools.isLeader()).toBe(false);
    await box.install("is-leader", { stdout: "true" });
    expect(await tools.isLeader()).toBe(false);
    expect(tools.stats()["is-leader"]).toBe(2);
    expect((await box.calls())[0]?.args).toEqual(["--format=json"]);
  });

  it("reads config and action parameters once, but goal-state every time", async () => {
    await box.install("config-get", { stdout: '{"pause-after-unit-refresh":"first"}' });
    await box.install("action-get", { stdout: '{"check-compatibility":true,"nested":{"a":1}}' });
    await box.install("goal-state", {
      stdout: JSON.stringify({
        units: { "db/0": { status: "active", since: "2025-03-10 10:51:40Z" }, "db/1": { status: "dying" } },
        relations: { "refresh-v-three": { db: { status: "joined", since: "2025-03-10 10:51:40Z" } } },
      }),
    });
    for (let i = 0; i < 2; i++) {
      expect(await tools.configGet()).toEqual({ "pause-after-unit-refresh": "first" });
      expect(await tools.actionGet()).toEqual({ "check-compatibility": true, nested: { a: 1 } });
      expect(await tools.goalState()).toEqual({
        units: { "db/0": { status: "active", since: "2025-03-10 10:51:40Z" }, "db/1": { status: "dying" } },
        relations: { "refresh-v-three": { db: { status: "joined", since: "2025-03-10 10:51:40Z" } } },
      });
    }
    const params = await tools.actionGet();
    (params["nested"] as { a: number }).a = 2;
    expect(await tools.actionGet()).toEqual({ "check-compatibility": true, nested: { a: 1 } });
    expect(tools.stats()).toEqual({ "action-get": 1, "config-get": 1, "goal-state": 2 });
  });

  it("reads the unit status and, on the leader, the application status", async () => {
    await box.install("status-get", { stdout: '{"status":"active","message":"","status-data":{}}' });
    expect(await tools.statusGet()).toEqual({ status: "active", message: "" });
    await box.install("status-get", {
      stdout: '{"application-status":{"status":"blocked","message":"Refresh incompatible","status-data":{},"units":{}}}',
    });
    expect(await tools.statusGet({ application: true })).toEqual({ status: "blocked", message: "Refresh incompatible" });
    expect((await box.calls()).map((call) => call.args)).toEqual([
      ["--format=json", "--include-data"],
      ["--format=json", "--include-data", "--application"],
    ]);
  });

  it("treats an empty unit state as no keys", async () => {
    await box.install("state-get", { stdout: "null\n" });
    expect(await tools.stateGet()).toEqual({});
  });

  it("returns the path of a resource", async () => {
    await box.install("resource-get", { stdout: "/var/lib/juju/agents/unit-db-0/resources/snap/db.snap\n" });
    expect(await tools.resourceGet("snap")).toBe("/var/lib/juju/agents/unit-db-0/resources/snap/db.snap");
    expect((await box.calls())[0]?.args).toEqual(["--", "snap"]);
  });
});

describe("writes", () => {
  it("sends relation data as JSON on stdin, turning null into Juju's empty-string delete", async () => {
    await box.install("relation-set", { readStdin: true });
    await tools.relationSet(PEER, { state: "refreshing", obsolete: null });
    await tools.relationSet(PEER, { versions: '{"charm":"14/1.2.3"}' }, { app: true });
    const calls = await box.calls();
    expect(calls.map((call) => call.args)).toEqual([
      ["-r", PEER, "--file", "-"],
      ["-r", PEER, "--app", "--file", "-"],
    ]);
    expect(JSON.parse(calls[0]?.stdin ?? "")).toEqual({ state: "refreshing", obsolete: "" });
    expect(JSON.parse(calls[1]?.stdin ?? "")).toEqual({ versions: '{"charm":"14/1.2.3"}' });
  });

  it("does not spawn anything for an empty change set", async () => {
    await tools.relationSet(PEER, {});
    await tools.actionSet({});
    await tools.stateSet({});
    expect(tools.stats()).toEqual({});
  });

  it("makes reads of this unit's and this app's databags reflect this hook's writes without asking Juju again", async () => {
    await box.install("relation-get", { stdout: '{"state":"idle","keep":"1","gone":"x"}' });
    await box.install("relation-set", { readStdin: true });
    expect(await tools.relationGet(PEER, { unit: "db/0" })).toEqual({ state: "idle", keep: "1", gone: "x" });
    await tools.relationSet(PEER, { state: "refreshing", gone: null });
    expect(await tools.relationGet(PEER, { unit: "db/0" })).toEqual({ state: "refreshing", keep: "1" });

    await tools.relationSet(PEER, { marker: "m" }, { app: true });
    await box.install("relation-get", { stdout: '{"other":"o"}' });
    expect(await tools.relationGet(PEER, { app: "db" })).toEqual({ other: "o", marker: "m" });
    // Another unit's databag is not ours: the write must not leak into it.
    expect(await tools.relationGet(PEER, { unit: "db/1" })).toEqual({ other: "o" });
    expect(tools.stats()["relation-get"]).toBe(3);
  });

  it("goes back to Juju after a write when it does not know which unit it is", async () => {
    tools = createHookTools({ env: box.env() });
    await box.install("relation-get", { stdout: '{"state":"idle"}' });
    await box.install("relation-set", { readStdin: true });
    await tools.relationGet(PEER, { unit: "db/0" });
    await tools.relationSet(PEER, { state: "refreshing" });
    await box.install("relation-get", { stdout: '{"state":"refreshing"}' });
    expect(await tools.relationGet(PEER, { unit: "db/0" })).toEqual({ state: "refreshing" });
    expect(tools.stats()["relation-get"]).toBe(2);
  });

  it("sets unit state through stdin, deletes with state-delete, and reads its own writes", async () => {
    await box.install("state-get", { stdout: '{"a":"1","b":"2"}' });
    await box.install("state-set", { readStdin: true });
    await box.install("state-delete");
    expect(await tools.stateGet()).toEqual({ a: "1", b: "2" });
    await tools.stateSet({ c: "it's \"quoted\"\n$(x)", b: null });
    const calls = (await box.calls()).filter((call) => call.tool !== "state-get");
    expect(calls.map((call) => [call.tool, ...call.args])).toEqual([
      ["state-set", "--file", "-"],
      ["state-delete", "--", "b"],
    ]);
    expect(JSON.parse(calls[0]?.stdin ?? "")).toEqual({ c: "it's \"quoted\"\n$(x)" });
    expect(await tools.stateGet()).toEqual({ a: "1", c: "it's \"quoted\"\n$(x)" });
    expect(tools.stats()["state-get"]).toBe(1);
  });

  it("passes status, version, action and log messages after -- exactly as given, never through a shell", async () => {
    for (const tool of ["status-set", "application-version-set", "action-fail", "action-log", "juju-log"]) await box.install(tool);
    const marker = join(box.bin, "..", "pwned");
    const hostile = `-x --application "quoted" 'single' $(touch ${marker}) \`touch ${marker}\`\nsecond line; touch ${marker}`;
    await tools.statusSet({ status: "blocked", message: hostile });
    await tools.statusSet({ status: "active", message: "" }, { application: true });
    await tools.applicationVersionSet("-1.2.3");
    await tools.actionFail(hostile);
    await tools.actionLog("--help");
    await tools.jujuLog("WARNING", hostile);
    expect((await box.calls()).map((call) => [call.tool, ...call.args])).toEqual([
      ["status-set", "blocked", "--", hostile],
      ["status-set", "--application", "active", "--", ""],
      ["application-version-set", "--", "-1.2.3"],
      ["action-fail", "--", hostile],
      ["action-log", "--", "--help"],
      ["juju-log", "--log-level", "WARNING", "--", hostile],
    ]);
    expect(existsSync(marker)).toBe(false);
  });

  it("does not send again a status or workload version this hook already set last", async () => {
    for (const tool of ["status-set", "application-version-set"]) await box.install(tool);
    await tools.statusSet({ status: "active", message: "Refreshing" }, { application: true });
    await tools.statusSet({ status: "active", message: "Refreshing" });
    await tools.statusSet({ status: "active", message: "Refreshing" }, { application: true });
    await tools.statusSet({ status: "active", message: "Refreshing" });
    await tools.statusSet({ status: "blocked", message: "Refreshing" });
    await tools.statusSet({ status: "active", message: "Refreshing" });
    await tools.applicationVersionSet("14.9");
    await tools.applicationVersionSet("14.9");
    expect((await box.calls()).map((call) => [call.tool, ...call.args])).toEqual([
      ["status-set", "--application", "active", "--", "Refreshing"],
      ["status-set", "active", "--", "Refreshing"],
      ["status-set", "blocked", "--", "Refreshing"],
      ["status-set", "active", "--", "Refreshing"],
      ["application-version-set", "--", "14.9"],
    ]);
  });

  it("sends a status again after a failed attempt, whatever Juju made of it", async () => {
    await box.install("status-set");
    await tools.statusSet({ status: "active", message: "" });
    await box.install("status-set", { exitCode: 1, stderr: "ERROR connection reset\n" });
    await expect(tools.statusSet({ status: "blocked", message: "stuck" })).rejects.toBeInstanceOf(HookToolFailed);
    await box.install("status-set");
    await tools.statusSet({ status: "active", message: "" });
    await tools.statusSet({ status: "active", message: "" });
    expect((await box.calls()).map((call) => call.args)).toEqual([
      ["active", "--", ""],
      ["blocked", "--", "stuck"],
      ["active", "--", ""],
    ]);
  });

  it("sets action results as key=value arguments, values untouched", async () => {
    await box.install("action-set");
    await tools.actionSet({ result: "ok", "versions.charm": "a=b $(c)\n" });
    expect((await box.calls())[0]?.args).toEqual(["result=ok", "versions.charm=a=b $(c)\n"]);
  });

  it("refuses a bad action-set key before spawning anything", async () => {
    await box.install("action-set");
    await expect(tools.actionSet({ ok: "1", Bad_Key: "2" })).rejects.toMatchObject({
      constructor: InvalidActionResultKey,
      key: "Bad_Key",
    });
    await expect(tools.actionSet({ stdout: "x" })).rejects.toThrow(/reserves/);
    expect(tools.stats()).toEqual({});
  });
});

describe("failures", () => {
  it("reports an unknown relation as RelationNotFound, for current and older agents", async () => {
    await box.install("relation-get", {
      exitCode: 2,
      stderr: 'ERROR invalid value "refresh-v-three:9" for flag -r: relation not found\n',
    });
    const error = await tools.relationGet("refresh-v-three:9", { unit: "db/1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelationNotFound);
    expect(error).toMatchObject({
      code: "RELATION_NOT_FOUND",
      tool: "relation-get",
      exitCode: 2,
      stderr: 'invalid value "refresh-v-three:9" for flag -r: relation not found',
    });

    await box.install("relation-list", { exitCode: 2, stderr: "ERROR unknown relation id\n" });
    await expect(tools.relationList("refresh-v-three:9")).rejects.toBeInstanceOf(RelationNotFound);
  });

  it("reports leadership and permission refusals as NotLeader and PermissionDenied", async () => {
    await box.install("relation-set", { readStdin: true, exitCode: 1, stderr: "ERROR cannot write relation settings\n" });
    await expect(tools.relationSet(PEER, { a: "b" }, { app: true })).rejects.toBeInstanceOf(PermissionDenied);

    await box.install("relation-get", { exitCode: 1, stderr: "ERROR permission denied\n" });
    await expect(tools.relationGet("db-client:4", { app: "db" })).rejects.toMatchObject({ code: "PERMISSION_DENIED" });

    await box.install("status-set", { exitCode: 1, stderr: "ERROR this unit is not the leader\n" });
    const error = await tools.statusSet({ status: "active", message: "" }, { application: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeader);
    expect((error as NotLeader).message).toMatch(/status-set.*not the leader/);
  });

  it("reports a tool missing from PATH as UnknownHookTool", async () => {
    const error = await tools.goalState().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownHookTool);
    expect(error).toMatchObject({ code: "UNKNOWN_HOOK_TOOL", tool: "goal-state" });
    expect((error as Error).message).toContain("PATH");
  });

  it("reports any other failure as HookToolFailed with tool, exit code and stderr", async () => {
    await box.install("config-get", { exitCode: 1, stderr: "ERROR connection is shut down\n" });
    const error = await tools.configGet().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookToolFailed);
    expect(error).toMatchObject({ code: "HOOK_TOOL_FAILED", tool: "config-get", exitCode: 1, stderr: "connection is shut down" });
    expect((error as Error).message).toMatch(/config-get exited with code 1: connection is shut down; .*retry/);
  });

  it("rejects output that is not JSON or not the expected shape, and tries again on the next call", async () => {
    await box.install("config-get", { stdout: "pause-after-unit-refresh: first\n" });
    await expect(tools.configGet()).rejects.toMatchObject({ constructor: HookToolOutputInvalid, code: "HOOK_TOOL_OUTPUT_INVALID" });
    await box.install("relation-ids", { stdout: '{"not":"a list"}' });
    await expect(tools.relationIds("refresh-v-three")).rejects.toBeInstanceOf(HookToolOutputInvalid);
    await box.install("is-leader", { stdout: "True" });
    await expect(tools.isLeader()).rejects.toBeInstanceOf(HookToolOutputInvalid);
    await box.install("status-get", { stdout: '{"status":"sleeping","message":""}' });
    await expect(tools.statusGet()).rejects.toBeInstanceOf(HookToolOutputInvalid);

    await box.install("config-get", { stdout: "{}" });
    expect(await tools.configGet()).toEqual({});
  });

  it("says what was expected where the output has the wrong shape", async () => {
    await box.install("relation-ids", { stdout: '{"not":"a list"}' });
    await expect(tools.relationIds("refresh-v-three")).rejects.toThrow(/expected array, received object/);
    await box.install("status-get", { stdout: '{"status":"sleeping","message":""}' });
    await expect(tools.statusGet()).rejects.toThrow(/expected one of "active"\|"waiting".*→ at status/);
  });
});
