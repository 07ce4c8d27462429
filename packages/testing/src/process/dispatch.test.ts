import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildJujuEnvironment } from "./environment.js";
import { compiledHookToolClient } from "./client.js";
import { createDispatcher, runDispatch } from "./dispatch.js";
import { HOOK_TOOL_SOCKET_ENV } from "./protocol.js";
import { HookToolServer } from "./server.js";
import { InMemoryHookTools } from "./recording-tools.test-support.js";

/** Values a charm might well pass, and that break naive quoting or flag parsing. */
const HOSTILE = [
  `it's "quoted"`,
  "two\nlines\n",
  "$(touch /tmp/pwned) `id` $HOME ${PATH}",
  "-r 5 --app",
  "--",
  "üñíçødé ✓ 日本",
  "",
  " leading and trailing spaces ",
  "back\\slash\ttab",
];

let server: HookToolServer;

beforeAll(async () => {
  server = await HookToolServer.start();
});

afterAll(async () => {
  await server.close();
});

let charmDir: string;
let tools: InMemoryHookTools;

beforeEach(async () => {
  charmDir = await mkdtemp(join(tmpdir(), "charm-"));
  tools = new InMemoryHookTools("db/1");
  tools.addRelation("refresh-v-three:4", "db", ["db/0"]);
});

async function writeDispatch(body: string): Promise<void> {
  await writeFile(join(charmDir, "dispatch"), body);
  await chmod(join(charmDir, "dispatch"), 0o755);
}

function hookEnv(extra: Record<string, string> = {}): Record<string, string> {
  return buildJujuEnvironment({
    event: { kind: "hook", name: "refresh-v-three-relation-changed" },
    unitName: "db/1",
    modelName: "prod",
    modelUuid: "d1a2b3c4-0000-4000-8000-000000000001",
    jujuVersion: "3.6.4",
    charmDir,
    relation: { endpoint: "refresh-v-three", id: "refresh-v-three:4" },
    remoteUnit: "db/0",
    remoteApp: "db",
    extra,
  });
}

function runTool(tool: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(server.binDir.path, tool), args, { env }, (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

/** Whether `pid` is a live process (a zombie waiting to be reaped has already died). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

describe("runDispatch with the compiled client", () => {
  it("installs the compiled C client when a compiler is present", () => {
    expect(server.binDir.client.kind).toBe("compiled");
  });

  it("runs a shell dispatch whose tool calls reach the registered tools and whose outputs come back", async () => {
    tools.leader = true;
    await writeDispatch(`#!/bin/sh
set -e
echo "leader: $(is-leader --format=json)"
relation-set --app --file - <<'JSON'
{"refresh-started": "yes", "note": "$(not expanded) 'single' \\"double\\""}
JSON
relation-set -r refresh-v-three:4 'dollar=$(id)' "spaces=a b  c"
echo "peer: $(relation-get --format=json - db/0)"
status-set maintenance -- "-refreshing unit 1/3"
juju-log --log-level WARNING -- "charm says: $JUJU_DISPATCH_PATH"
`);
    tools.relations.get("refresh-v-three:4")?.databags.set("unit:db/0", { version: "14.1" });

    const result = await runDispatch({ server, charmDir, env: hookEnv(), tools, timeoutMs: 10_000 });

    expect(result.stderr).toBe("");
    expect(result).toMatchObject({ ok: true, exitCode: 0, timedOut: false, toolCalls: 6 });
    expect(result.stdout).toBe('leader: true\npeer: {"version":"14.1"}\n');
    expect(tools.databag("refresh-v-three:4", { app: "db" })).toEqual({
      "refresh-started": "yes",
      note: `$(not expanded) 'single' "double"`,
    });
    expect(tools.databag("refresh-v-three:4", { unit: "db/1" })).toEqual({ dollar: "$(id)", spaces: "a b  c" });
    expect(tools.unitStatus).toEqual({ status: "maintenance", message: "-refreshing unit 1/3" });
    expect(tools.logs).toEqual([{ level: "WARNING", message: "charm says: hooks/refresh-v-three-relation-changed" }]);
    expect(result.calls.map((c) => c.tool)).toEqual(["is-leader", "relation-set", "relation-set", "relation-get", "status-set", "juju-log"]);
  });

  it("passes hostile argv and stdin byte for byte from a node dispatch", async () => {
    await writeFile(join(charmDir, "values.json"), JSON.stringify(HOSTILE));
    await writeDispatch(`#!/usr/bin/env node
const { execFileSync } = require("node:child_process");
const values = JSON.parse(require("node:fs").readFileSync("values.json", "utf8"));
values.forEach((value, i) => {
  execFileSync("relation-set", ["-r", "4", "arg-" + i + "=" + value]);
  execFileSync("juju-log", ["--log-level", "DEBUG", "--", value]);
});
const viaFile = Object.fromEntries(values.map((value, i) => ["file-" + i, value]));
execFileSync("relation-set", ["--file", "-"], { input: JSON.stringify(viaFile) });
process.stdout.write(execFileSync("relation-get", ["--format=json", "-", "db/1"]));
`);
    const result = await runDispatch({ server, charmDir, env: hookEnv(), tools, timeoutMs: 20_000 });

    expect(result.stderr).toBe("");
    expect(result.ok).toBe(true);
    expect(result.toolCalls).toBe(HOSTILE.length * 2 + 2);
    // Relation data is strings; an empty value deletes, as on Juju.
    const expected: Record<string, string> = {};
    HOSTILE.forEach((value, i) => {
      if (value !== "") expected[`arg-${i}`] = value;
    });
    HOSTILE.forEach((value, i) => {
      if (value !== "") expected[`file-${i}`] = value;
    });
    expect(tools.databag("refresh-v-three:4", { unit: "db/1" })).toEqual(expected);
    expect(JSON.parse(result.stdout)).toEqual(expected);
    expect(tools.logs.map((l) => l.message)).toEqual(HOSTILE);
  });

  it("gives the hook a fresh Juju environment: no simulator variables leak, extra ones pass", async () => {
    await writeDispatch("#!/bin/sh\nenv\n");
    const result = await runDispatch({
      server,
      charmDir,
      env: hookEnv({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: "6443" }),
      tools,
      timeoutMs: 10_000,
    });
    const seen = new Map(
      result.stdout
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const),
    );
    expect(seen.get("JUJU_CONTEXT_ID")).toBe(result.contextId);
    expect(seen.get("JUJU_UNIT_NAME")).toBe("db/1");
    expect(seen.get("JUJU_RELATION_ID")).toBe("refresh-v-three:4");
    expect(seen.get("KUBERNETES_SERVICE_HOST")).toBe("127.0.0.1");
    expect(seen.get(HOOK_TOOL_SOCKET_ENV)).toBe(server.socketPath);
    expect(seen.get("PATH")?.split(":")[0]).toBe(server.binDir.path);
    expect(seen.get("PWD")).toBe(charmDir);
    // Set in every developer shell and test runner, never by Juju.
    expect(seen.has("HOME")).toBe(false);
    expect(seen.has("VITEST")).toBe(false);
  });

  it("reports a failing hook with its exit code and stderr; tool errors reach the hook", async () => {
    await writeDispatch(`#!/bin/sh
relation-set --app a=b || echo "relation-set exited $?"
status-set bogus || echo "status-set exited $?"
echo "giving up" >&2
exit 3
`);
    const result = await runDispatch({ server, charmDir, env: hookEnv(), tools, timeoutMs: 10_000 });
    expect(result).toMatchObject({ ok: false, exitCode: 3, timedOut: false, toolCalls: 2 });
    expect(result.stdout).toBe("relation-set exited 1\nstatus-set exited 2\n");
    expect(result.stderr).toBe(
      'ERROR cannot write relation settings\nERROR invalid status "bogus", expected one of [maintenance blocked waiting active]\ngiving up\n',
    );
  });

  it("kills the whole process group on timeout and says so", async () => {
    const pidFile = join(charmDir, "child.pid");
    await writeDispatch(`#!/bin/sh
sleep 60 &
echo $! > '${pidFile}'
wait
`);
    const result = await runDispatch({ server, charmDir, env: hookEnv(), tools, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, timedOut: true, exitCode: null, signal: "SIGKILL" });
    expect(result.stderr).toContain("ran longer than the 300 ms timeout");
    const childPid = Number(await readFile(pidFile, "utf8"));
    await expect.poll(() => isRunning(childPid), { timeout: 5_000 }).toBe(false);
  });

  it("reports a dispatch that cannot be started", async () => {
    const result = await runDispatch({ server, charmDir, env: hookEnv(), tools, timeoutMs: 10_000 });
    expect(result.ok).toBe(false);
    expect(result.startError).toBeDefined();
    expect(result.stderr).toContain(`cannot run ${join(charmDir, "dispatch")}`);
  });

  it("refuses calls from a hook that has ended, like a stale JUJU_CONTEXT_ID on Juju", async () => {
    await writeDispatch("#!/bin/sh\nis-leader\n");
    const result = await runDispatch({ server, charmDir, env: hookEnv(), tools, timeoutMs: 10_000 });
    expect(result.ok).toBe(true);
    const late = await runTool("is-leader", ["--format=json"], { ...server.environment, JUJU_CONTEXT_ID: result.contextId });
    expect(late.code).toBe(1);
    expect(late.stderr).toBe(
      `ERROR bad request: unknown hook context ${JSON.stringify(result.contextId)}: the hook has ended or was never started\n`,
    );
  });

  it("fails clearly when a tool runs outside any hook", async () => {
    const outside = await runTool("is-leader", [], {});
    expect(outside.code).toBe(1);
    expect(outside.stderr).toBe(`ERROR is-leader: ${HOOK_TOOL_SOCKET_ENV} is not set; hook tools only work inside a hook run by the simulator\n`);
  });

  it("carries any argument vector through the client unchanged (property)", async () => {
    const unregister = server.register("property", tools);
    const env = { ...server.environment, JUJU_CONTEXT_ID: "property" };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0")),
            { minLength: 1, maxLength: 5 },
          ),
          async (words) => {
            tools.logs.length = 0;
            const outcome = await runTool("juju-log", ["--log-level", "INFO", "--", ...words], env);
            expect(outcome).toEqual({ code: 0, stdout: "", stderr: "" });
            expect(tools.logs).toEqual([{ level: "INFO", message: words.join(" ") }]);
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      unregister();
    }
  });
});

describe("createDispatcher", () => {
  it("runs the request's executable and always reports a numeric exit status", async () => {
    const dispatch = createDispatcher(server);
    await writeFile(join(charmDir, "hook"), "#!/bin/sh\nis-leader --format=json\n");
    await chmod(join(charmDir, "hook"), 0o755);
    const request = { executable: join(charmDir, "hook"), charmDir, environment: hookEnv(), tools, timeoutMs: 10_000 };
    const done = await dispatch(request);
    expect(done).toMatchObject({ exitCode: 0, stdout: "false\n", stderr: "" });
    expect(done.result.toolCalls).toBe(1);

    await writeFile(join(charmDir, "hook"), "#!/bin/sh\nsleep 60\n");
    const killed = await dispatch({ ...request, timeoutMs: 200 });
    expect(killed.exitCode).toBe(137);
    expect(killed.result.timedOut).toBe(true);

    const missing = await dispatch({ ...request, executable: join(charmDir, "absent") });
    expect(missing.exitCode).toBe(127);
  });
});

describe("client selection", () => {
  it("falls back to the Node client, saying why, when the compiler cannot run", async () => {
    const fallback = await HookToolServer.start({
      compiler: "/nonexistent/cc",
      cacheDir: await mkdtemp(join(tmpdir(), "client-cache-")),
    });
    try {
      expect(fallback.binDir.client.kind).toBe("node");
      expect(fallback.binDir.client).toMatchObject({ reason: expect.stringContaining("/nonexistent/cc could not be run") });

      await writeDispatch(`#!/bin/sh
relation-set --file - <<'YAML'
weird: "$(x) 'y'"
YAML
juju-log -- "-dash first"
relation-get --format=json - db/1
`);
      const result = await runDispatch({ server: fallback, charmDir, env: hookEnv(), tools, timeoutMs: 20_000 });
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe(`{"weird":"$(x) 'y'"}\n`);
      expect(tools.logs).toEqual([{ level: "INFO", message: "-dash first" }]);
    } finally {
      await fallback.close();
    }
  });

  it("compiles the client once per cache directory and reuses it", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "client-cache-"));
    const first = await compiledHookToolClient({ cacheDir });
    const builtAt = (await stat(first)).mtimeMs;
    const second = await compiledHookToolClient({ cacheDir, compiler: "/nonexistent/cc" });
    expect(second).toBe(first);
    expect((await stat(second)).mtimeMs).toBe(builtAt);
  });

  it("refuses a cache directory that others can write to", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "client-cache-"));
    await chmod(cacheDir, 0o777);
    await expect(compiledHookToolClient({ cacheDir })).rejects.toThrow(/not a directory that only this user can write to/);
  });

  it("fails with a clear error when the compiled client is required and cannot be built", async () => {
    await expect(
      HookToolServer.start({ client: "compiled", compiler: "/nonexistent/cc", cacheDir: await mkdtemp(join(tmpdir(), "client-cache-")) }),
    ).rejects.toThrow(/cannot compile the hook-tool client: .*client: "node"/);
  });
});
