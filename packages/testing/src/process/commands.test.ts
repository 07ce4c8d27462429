import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyHookToolFailure } from "@refresh/juju";
import { beforeEach, describe, expect, it } from "vitest";
import { type HookToolScope, executeHookTool } from "./commands.js";
import { InMemoryHookTools, type RecordedCall } from "./recording-tools.test-support.js";

let tools: InMemoryHookTools;

beforeEach(() => {
  tools = new InMemoryHookTools("db/1");
  tools.addRelation("db-peers:3", "db", ["db/2", "db/0"]);
  tools.addRelation("client:7", "web", ["web/0"]);
  tools.relations.get("db-peers:3")?.databags.set("unit:db/0", { x: "1", "private-address": "10.1.1.1" });
  tools.relations.get("db-peers:3")?.databags.set("app:db", { version: '"7"' });
  tools.config = { "pause-after-unit-refresh": "first", port: 5432 };
  tools.goal = { units: { "db/0": { status: "active", since: "2025-03-10 10:51:40Z" } }, relations: {} };
  tools.unitStatus = { status: "active", message: "ready" };
  tools.appStatus = { status: "blocked", message: "refresh paused" };
  tools.resources = { "workload-binary": "/var/lib/juju/resources/workload-binary" };
});

interface CallOptions {
  readonly stdin?: string;
  readonly scope?: HookToolScope;
  readonly cwd?: string;
}

/** Every relation of the fixture: what a hook context would list. */
const RELATIONS: HookToolScope = { relations: ["db-peers:3", "client:7"] };

function call(tool: string, args: readonly string[], options: CallOptions = {}) {
  return executeHookTool(
    {
      contextId: "ctx",
      tool,
      args,
      cwd: options.cwd ?? "/",
      stdin: options.stdin === undefined ? undefined : Buffer.from(options.stdin),
    },
    tools,
    options.scope ?? RELATIONS,
  );
}

function lastCall(): RecordedCall | undefined {
  return tools.calls.at(-1);
}

describe("reads: every flag spelling gives the same answer", () => {
  const cases: { name: string; tool: string; args: string[]; scope?: HookToolScope; leader?: boolean; stdout: string }[] = [
    { name: "--format=json", tool: "relation-ids", args: ["--format=json", "db-peers"], stdout: '["db-peers:3"]\n' },
    { name: "--format json", tool: "relation-ids", args: ["--format", "json", "db-peers"], stdout: '["db-peers:3"]\n' },
    { name: "-format=json and --", tool: "relation-ids", args: ["-format=json", "--", "db-peers"], stdout: '["db-peers:3"]\n' },
    { name: "flag after positional", tool: "relation-ids", args: ["client", "--format=json"], stdout: '["client:7"]\n' },
    { name: "smart list, one per line", tool: "relation-ids", args: ["db-peers"], stdout: "db-peers:3\n" },
    {
      name: "endpoint from the hook's relation",
      tool: "relation-ids",
      args: ["--format=json"],
      scope: { ...RELATIONS, relation: "client:7" },
      stdout: '["client:7"]\n',
    },
    { name: "-r N", tool: "relation-list", args: ["--format=json", "-r", "3"], stdout: '["db/0","db/2"]\n' },
    { name: "-r endpoint:N", tool: "relation-list", args: ["--format=json", "-r", "db-peers:3"], stdout: '["db/0","db/2"]\n' },
    { name: "--relation=endpoint:N", tool: "relation-list", args: ["--relation=db-peers:3", "--format=json"], stdout: '["db/0","db/2"]\n' },
    { name: "-r=N", tool: "relation-list", args: ["-r=7", "--format=json"], stdout: '["web/0"]\n' },
    {
      name: "-r from the hook's relation",
      tool: "relation-list",
      args: ["--format=json"],
      scope: { relation: "client:7" },
      stdout: '["web/0"]\n',
    },
    { name: "--app", tool: "relation-list", args: ["--format=json", "-r", "db-peers:3", "--app"], stdout: '"db"\n' },
    {
      name: "whole unit databag",
      tool: "relation-get",
      args: ["--format=json", "-r", "db-peers:3", "-", "db/0"],
      stdout: '{"x":"1","private-address":"10.1.1.1"}\n',
    },
    { name: "one key, smart", tool: "relation-get", args: ["-r", "3", "x", "db/0"], stdout: "1\n" },
    { name: "unset key", tool: "relation-get", args: ["--format=json", "-r", "3", "nope", "db/0"], stdout: "null\n" },
    { name: "app databag by app", tool: "relation-get", args: ["--format=json", "-r", "3", "--app", "-", "db"], stdout: '{"version":"\\"7\\""}\n' },
    {
      name: "app databag by unit, --app last",
      tool: "relation-get",
      args: ["--format=json", "-r", "3", "-", "db/0", "--app"],
      stdout: '{"version":"\\"7\\""}\n',
    },
    {
      name: "target from the remote unit",
      tool: "relation-get",
      args: ["--format=json", "x"],
      scope: { relation: "db-peers:3", remoteUnit: "db/0" },
      stdout: '"1"\n',
    },
    {
      name: "app databag of the remote app by default",
      tool: "relation-get",
      args: ["--format=json", "--app"],
      scope: { relation: "db-peers:3", remoteUnit: "db/0", remoteApp: "db" },
      stdout: '{"version":"\\"7\\""}\n',
    },
    { name: "is-leader json", tool: "is-leader", args: ["--format=json"], leader: true, stdout: "true\n" },
    { name: "is-leader smart", tool: "is-leader", args: [], stdout: "False\n" },
    { name: "config", tool: "config-get", args: ["--format=json"], stdout: '{"pause-after-unit-refresh":"first","port":5432}\n' },
    { name: "config key", tool: "config-get", args: ["port", "--format", "json"], stdout: "5432\n" },
    { name: "config unknown key", tool: "config-get", args: ["--format=json", "nope"], stdout: "null\n" },
    { name: "config --all", tool: "config-get", args: ["--format=json", "--all", "port"], stdout: "5432\n" },
    { name: "config as YAML", tool: "config-get", args: ["--format=yaml"], stdout: "pause-after-unit-refresh: first\nport: 5432\n" },
    { name: "list as YAML", tool: "relation-list", args: ["--format", "yaml", "-r", "3"], stdout: "- db/0\n- db/2\n" },
    {
      name: "goal-state",
      tool: "goal-state",
      args: ["--format=json"],
      stdout: '{"units":{"db/0":{"status":"active","since":"2025-03-10 10:51:40Z"}},"relations":{}}\n',
    },
    {
      name: "unit status with data",
      tool: "status-get",
      args: ["--format=json", "--include-data"],
      stdout: '{"status":"active","message":"ready","status-data":{}}\n',
    },
    { name: "unit status alone", tool: "status-get", args: ["--format=json"], stdout: '"active"\n' },
    {
      name: "application status",
      tool: "status-get",
      args: ["--format=json", "--include-data", "--application"],
      leader: true,
      stdout: '{"application-status":{"status":"blocked","message":"refresh paused","status-data":{},"units":{}}}\n',
    },
    { name: "empty state is null", tool: "state-get", args: ["--format=json"], stdout: "null\n" },
    { name: "missing state key", tool: "state-get", args: ["--format=json", "nope"], stdout: "null\n" },
    { name: "resource path", tool: "resource-get", args: ["workload-binary"], stdout: "/var/lib/juju/resources/workload-binary\n" },
    { name: "resource path after --", tool: "resource-get", args: ["--", "workload-binary"], stdout: "/var/lib/juju/resources/workload-binary\n" },
  ];

  it.each(cases)("$tool $name", async ({ tool, args, scope, leader, stdout }) => {
    tools.leader = leader ?? false;
    const response = await call(tool, args, scope === undefined ? {} : { scope });
    expect(response).toEqual({ exitCode: 0, stdout, stderr: "" });
  });

  it("reads action parameters, whole or by dotted key", async () => {
    tools.actionParams = { "check-compatibility": true, nested: { "unit-name": "db/2" } };
    expect((await call("action-get", ["--format=json"])).stdout).toBe('{"check-compatibility":true,"nested":{"unit-name":"db/2"}}\n');
    expect((await call("action-get", ["--format=json", "nested.unit-name"])).stdout).toBe('"db/2"\n');
    expect((await call("action-get", ["--format=json", "nested.absent"])).stdout).toBe("null\n");
  });

  it("reads back state by key", async () => {
    tools.state = { "original-version": "14.1" };
    expect((await call("state-get", ["--format=json", "original-version"])).stdout).toBe('"14.1"\n');
    expect((await call("state-get", ["--format=json"])).stdout).toBe('{"original-version":"14.1"}\n');
  });

  it("renders maps as YAML without --format", async () => {
    expect((await call("config-get", [])).stdout).toBe("pause-after-unit-refresh: first\nport: 5432\n");
  });
});

describe("writes reach the tools with Juju's meaning", () => {
  it("relation-set: key=value arguments, an empty value deletes", async () => {
    const response = await call("relation-set", ["-r", "db-peers:3", "a=b=c", "gone=", "spaced=x y"]);
    expect(response.exitCode).toBe(0);
    expect(lastCall()).toEqual({
      method: "relationSet",
      args: ["db-peers:3", { a: "b=c", gone: null, spaced: "x y" }, { app: false }],
    });
  });

  it("relation-set --app --file - takes a JSON map from stdin", async () => {
    tools.leader = true;
    const response = await call("relation-set", ["-r", "3", "--app", "--file", "-"], { stdin: '{"k":"v","drop":""}' });
    expect(response.exitCode).toBe(0);
    expect(lastCall()?.args).toEqual(["db-peers:3", { k: "v", drop: null }, { app: true }]);
    expect(tools.databag("db-peers:3", { app: "db" })).toEqual({ version: '"7"', k: "v" });
  });

  it("relation-set --file=- reads YAML; scalars keep their text, null deletes, arguments win", async () => {
    const yaml = 'number: 1.0\nflag: yes\nnull-one: ~\nempty:\nquoted: "x: y"\nkept: from-file\n';
    const response = await call("relation-set", ["--file=-", "-r", "db-peers:3", "kept=from-args"], { stdin: yaml });
    expect(response.exitCode).toBe(0);
    expect(lastCall()?.args[1]).toEqual({ number: "1.0", flag: "yes", "null-one": null, empty: null, quoted: "x: y", kept: "from-args" });
  });

  it("relation-set --file path resolves against the caller's directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "settings-"));
    await writeFile(join(dir, "settings.yaml"), "from: file\n");
    const response = await call("relation-set", ["-r", "3", "--file", "settings.yaml"], { cwd: dir });
    expect(response.exitCode).toBe(0);
    expect(lastCall()?.args[1]).toEqual({ from: "file" });
  });

  it("status-set: message after --, --application only with a boolean", async () => {
    tools.leader = true;
    await call("status-set", ["active", "all good"]);
    expect(tools.unitStatus).toEqual({ status: "active", message: "all good" });
    await call("status-set", ["--application", "blocked", "--", "-starts with a dash"]);
    expect(tools.appStatus).toEqual({ status: "blocked", message: "-starts with a dash" });
    await call("status-set", ["--application=False", "maintenance"]);
    expect(tools.unitStatus).toEqual({ status: "maintenance", message: "" });
  });

  it("application-version-set takes one argument, which may start with a dash after --", async () => {
    await call("application-version-set", ["--", "-rc1"]);
    expect(tools.workloadVersion).toBe("-rc1");
    await call("application-version-set", [""]);
    expect(tools.workloadVersion).toBe("");
  });

  it("action-set keeps dotted keys and values containing =", async () => {
    tools.actionParams = {};
    const response = await call("action-set", ["result=ok", "units.db-0.version=1=2"]);
    expect(response.exitCode).toBe(0);
    expect(tools.actionResults).toEqual({ result: "ok", "units.db-0.version": "1=2" });
  });

  it("action-fail uses Juju's default message; action-log joins its words", async () => {
    tools.actionParams = {};
    await call("action-fail", []);
    expect(tools.actionFailure).toBe("action failed without reason given, check action for errors");
    await call("action-fail", ["--", "-x"]);
    expect(tools.actionFailure).toBe("-x");
    await call("action-log", ["--", "-step", "1"]);
    expect(tools.actionLogs).toEqual(["-step 1"]);
  });

  it.each([
    { args: ["--log-level", "WARNING", "--", "careful"], level: "WARNING", message: "careful" },
    { args: ["--log-level=error", "broken"], level: "ERROR", message: "broken" },
    { args: ["-l", "warn", "two", "words"], level: "WARNING", message: "two words" },
    { args: ["--debug", "details"], level: "DEBUG", message: "details" },
    { args: ["--log-level", "LOUD", "unknown level"], level: "INFO", message: "unknown level" },
    { args: ["plain"], level: "INFO", message: "plain" },
  ])("juju-log $args", async ({ args, level, message }) => {
    expect((await call("juju-log", args)).exitCode).toBe(0);
    expect(tools.logs).toEqual([{ level, message }]);
  });

  it("state-set stores empty values; state-delete deletes", async () => {
    await call("state-set", ["--file", "-", "b="], { stdin: "a: one\n" });
    expect(lastCall()).toEqual({ method: "stateSet", args: [{ a: "one", b: "" }] });
    await call("state-delete", ["--", "a"]);
    expect(lastCall()).toEqual({ method: "stateSet", args: [{ a: null }] });
    expect(tools.state).toEqual({ b: "" });
  });
});

describe("failures: Juju's exit codes and error strings", () => {
  const cases: { tool: string; args: string[]; exitCode: 1 | 2; stderr: string; scope?: HookToolScope }[] = [
    { tool: "relation-list", args: ["-r", "99"], exitCode: 2, stderr: 'ERROR invalid value "99" for flag -r: relation not found\n' },
    {
      tool: "relation-list",
      args: ["--relation", "client:3"],
      exitCode: 2,
      stderr: 'ERROR invalid value "client:3" for flag --relation: relation not found\n',
    },
    { tool: "relation-get", args: ["-r", "abc", "-", "db/0"], exitCode: 2, stderr: 'ERROR invalid value "abc" for flag -r: invalid relation id\n' },
    { tool: "relation-list", args: [], exitCode: 2, stderr: "ERROR no relation id specified\n" },
    { tool: "relation-get", args: ["-r", "3", "-"], exitCode: 2, stderr: "ERROR no unit or application specified\n" },
    {
      tool: "relation-get",
      args: ["-r", "3", "-", "db"],
      exitCode: 2,
      stderr: 'ERROR expected unit name, got application name "db"\n',
    },
    { tool: "relation-set", args: ["-r", "3", "--app", "a=b"], exitCode: 1, stderr: "ERROR cannot write relation settings\n" },
    { tool: "relation-set", args: ["-r", "3", "novalue"], exitCode: 2, stderr: 'ERROR expected "key=value", got "novalue"\n' },
    { tool: "relation-set", args: ["-r", "3", "=v"], exitCode: 2, stderr: 'ERROR expected "key=value", got "=v"\n' },
    { tool: "relation-set", args: ["-r", "3", "a=1", "a=2"], exitCode: 2, stderr: 'ERROR duplicate key specified: "a"\n' },
    { tool: "relation-ids", args: [], exitCode: 2, stderr: "ERROR no endpoint name specified\n" },
    {
      tool: "status-set",
      args: ["bogus", "msg"],
      exitCode: 2,
      stderr: 'ERROR invalid status "bogus", expected one of [maintenance blocked waiting active]\n',
    },
    { tool: "status-set", args: [], exitCode: 2, stderr: "ERROR invalid args, require <status> [message]\n" },
    { tool: "status-set", args: ["--application", "active"], exitCode: 1, stderr: "ERROR this unit is not the leader\n" },
    {
      tool: "status-set",
      args: ["--application=maybe", "active"],
      exitCode: 2,
      stderr: 'ERROR invalid value "maybe" for flag --application: parse error\n',
    },
    {
      tool: "status-get",
      args: ["--format=json", "--application"],
      exitCode: 1,
      stderr: "ERROR finding application status: this unit is not the leader\n",
    },
    { tool: "action-get", args: ["--format=json"], exitCode: 1, stderr: "ERROR not running an action\n" },
    { tool: "action-log", args: ["--", "hello"], exitCode: 1, stderr: "ERROR not running an action\n" },
    {
      tool: "action-set",
      args: ["Bad_Key=1"],
      exitCode: 2,
      stderr: 'ERROR key "Bad_Key" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens\n',
    },
    {
      tool: "action-set",
      args: ["a.-b=1"],
      exitCode: 2,
      stderr: 'ERROR key "-b" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric and hyphens\n',
    },
    { tool: "action-set", args: ["stdout=1"], exitCode: 2, stderr: 'ERROR cannot set reserved action key "stdout"\n' },
    { tool: "action-set", args: ["novalue"], exitCode: 2, stderr: 'ERROR argument "novalue" must be of the form key...=value\n' },
    { tool: "action-set", args: [], exitCode: 2, stderr: "ERROR no action results specified\n" },
    { tool: "is-leader", args: ["--bogus"], exitCode: 2, stderr: "ERROR flag provided but not defined: --bogus\n" },
    { tool: "is-leader", args: ["-x=1"], exitCode: 2, stderr: "ERROR flag provided but not defined: -x\n" },
    { tool: "is-leader", args: ["--format"], exitCode: 2, stderr: "ERROR flag needs an argument: --format\n" },
    {
      tool: "is-leader",
      args: ["--format=xml"],
      exitCode: 2,
      stderr: 'ERROR invalid value "xml" for flag --format: unknown format "xml"\n',
    },
    { tool: "is-leader", args: ["extra", "args"], exitCode: 2, stderr: 'ERROR unrecognized args: ["extra" "args"]\n' },
    { tool: "is-leader", args: ["---format=json"], exitCode: 2, stderr: "ERROR bad flag syntax: ---format=json\n" },
    { tool: "status-set", args: ["--format=json", "active"], exitCode: 2, stderr: "ERROR flag provided but not defined: --format\n" },
    { tool: "juju-log", args: ["--log-level", "INFO"], exitCode: 2, stderr: "ERROR no message specified\n" },
    { tool: "juju-log", args: ["-starts-with-dash"], exitCode: 2, stderr: "ERROR flag provided but not defined: -starts-with-dash\n" },
    { tool: "application-version-set", args: [], exitCode: 2, stderr: "ERROR no version specified\n" },
    { tool: "state-get", args: ["--strict", "nope"], exitCode: 1, stderr: 'ERROR key "nope" not found\n' },
    { tool: "state-delete", args: [], exitCode: 2, stderr: "ERROR no key specified\n" },
    { tool: "resource-get", args: ["nope"], exitCode: 1, stderr: 'ERROR resource "nope" not found\n' },
    { tool: "resource-get", args: [], exitCode: 2, stderr: "ERROR missing required resource name\n" },
  ];

  it.each(cases)("$tool $args → exit $exitCode", async ({ tool, args, exitCode, stderr, scope }) => {
    const response = await call(tool, args, scope === undefined ? {} : { scope });
    expect(response).toEqual({ exitCode, stdout: "", stderr });
  });

  it("argument errors never reach the tools", async () => {
    await call("relation-set", ["-r", "99", "a=b"]);
    await call("status-set", ["bogus"]);
    await call("is-leader", ["--bogus"]);
    expect(tools.calls).toEqual([]);
  });

  it("keeps the exit code 2 a tool attaches to its error (relation not in the context)", async () => {
    const response = await call("relation-list", ["-r", "gone:12"], { scope: {} });
    expect(response.exitCode).toBe(2);
    expect(response.stderr).toContain("relation not found");
  });

  it("prints Juju's own wording of a @refresh/juju HookToolError, with its exit code", async () => {
    tools.relationGet = () => Promise.reject(classifyHookToolFailure("relation-get", 2, 'invalid value "9" for option -r: relation not found'));
    const unknownRelation = await call("relation-get", ["--format=json", "-r", "db-peers:3", "-", "db/0"]);
    expect(unknownRelation).toEqual({ exitCode: 2, stdout: "", stderr: 'ERROR invalid value "9" for option -r: relation not found\n' });
    tools.isLeader = () => Promise.reject(classifyHookToolFailure("is-leader", 1, "ERROR leadership lease expired"));
    expect(await call("is-leader", [])).toEqual({ exitCode: 1, stdout: "", stderr: "ERROR leadership lease expired\n" });
  });

  it("rejects a settings file that is not a map of strings, without calling the tools", async () => {
    const list = await call("relation-set", ["-r", "3", "--file", "-"], { stdin: "[1, 2]" });
    expect(list).toEqual({ exitCode: 1, stdout: "", stderr: "ERROR cannot parse settings file: expected a map of keys to string values\n" });
    const nested = await call("relation-set", ["-r", "3", "--file", "-"], { stdin: "a: {b: c}" });
    expect(nested.stderr).toBe('ERROR cannot parse settings file: the value of "a" must be a string\n');
    const broken = await call("state-set", ["--file", "-"], { stdin: "a: [" });
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toMatch(/^ERROR cannot parse settings file: /);
    expect(tools.calls).toEqual([]);
  });

  it("answers an unknown tool with exit 1 and names the tools it knows", async () => {
    const response = await call("network-get", ["--format=json", "db"]);
    expect(response.exitCode).toBe(1);
    expect(response.stderr).toMatch(/^ERROR "network-get" is not a hook tool the simulator provides \(known: relation-ids, .*resource-get\)\n$/);
  });
});
