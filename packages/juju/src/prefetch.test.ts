import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { HOOK_TOOL_PREFETCH_ENV, PrefetchedAnswers, readDispatchPrefetch } from "./prefetch.js";
import { InvalidPrefetchPlan, prefetchShellFunction } from "./prefetch-script.js";
import { createHookTools, type WorkloadVersionRecord } from "./process-hook-tools.js";
import { createFakeToolbox, type FakeToolbox } from "./test-support/fake-tools.js";
import type { ToolInvocation } from "./tool-runner.js";

const execFileAsync = promisify(execFile);
const PLAN = { peerEndpoints: ["refresh-v-three"], goalState: true } as const;

/** Runs the generated shell function with /bin/sh, as `dispatch` does, and returns what it printed. */
async function prefetchOutput(toolbox: FakeToolbox, env: Record<string, string>): Promise<string> {
  const script = `${prefetchShellFunction(PLAN)}refresh_prefetch\n`;
  return (await execFileAsync("/bin/sh", ["-c", script], { env: toolbox.env(env) })).stdout;
}

/** Answers fed with `text` as the shell would write it, in the given chunk sizes. */
function answersFrom(text: string, chunk = text.length, uptimeNow?: number): PrefetchedAnswers {
  const answers = new PrefetchedAnswers(() => uptimeNow);
  for (let at = 0; at < text.length; at += chunk) answers.push(text.slice(at, at + chunk));
  answers.end();
  return answers;
}

const invocation = (tool: string, ...args: string[]): ToolInvocation => ({ tool, args });

describe("PrefetchedAnswers", () => {
  const frames = "@is-leader --format=json\ntrue\n@relation-list --format=json -r peers:1\n[\"db/1\",\"db/2\"]\n";

  test.each([1, 3, 7, 1000])("hands out each answer once, however the shell's writes were split (%i-byte chunks)", async (chunk) => {
    const answers = answersFrom(frames, chunk);
    expect(await answers.take(invocation("relation-list", "--format=json", "-r", "peers:1"))).toMatchObject({ exitCode: 0, stdout: '["db/1","db/2"]\n' });
    expect(await answers.take(invocation("relation-list", "--format=json", "-r", "peers:1")), "a second call runs the tool").toBeUndefined();
    expect(await answers.take(invocation("is-leader", "--format=json"))).toMatchObject({ stdout: "true\n" });
  });

  test("answers only the exact invocation the shell ran", async () => {
    const answers = answersFrom(frames);
    expect(await answers.take(invocation("relation-list", "--format=json", "-r", "peers:2"))).toBeUndefined();
    expect(await answers.take(invocation("is-leader"))).toBeUndefined();
  });

  test("a read waits for its frame while the shell is still running, and for the end when it never comes", async () => {
    const answers = new PrefetchedAnswers(() => undefined);
    const leader = answers.take(invocation("is-leader", "--format=json"));
    const config = answers.take(invocation("config-get", "--format=json"));
    let configSettled = false;
    void config.then(() => (configSettled = true));
    answers.push("@is-leader --format=json\nfal");
    answers.push("se\n");
    expect(await leader).toMatchObject({ stdout: "false\n" });
    await Promise.resolve();
    expect(configSettled, "config-get is still waiting: the shell may yet print it").toBe(false);
    answers.end();
    expect(await config).toBeUndefined();
  });

  test("writes and tools the shell never runs do not wait for it", async () => {
    const answers = new PrefetchedAnswers(() => undefined);
    expect(await answers.take(invocation("status-set", "active", "--", "ready"))).toBeUndefined();
    expect(await answers.take(invocation("juju-log", "--", "hello"))).toBeUndefined();
    expect(await answers.take({ tool: "relation-get", args: ["-"], stdin: "x" })).toBeUndefined();
  });

  test("a body that is not one line of JSON drops that frame and every later one", async () => {
    const answers = answersFrom('@config-get --format=json\n{"a":\n  1}\n@is-leader --format=json\ntrue\n');
    expect(await answers.take(invocation("config-get", "--format=json"))).toBeUndefined();
    expect(await answers.take(invocation("is-leader", "--format=json"))).toBeUndefined();
  });

  test("frames before a broken one are kept", async () => {
    const answers = answersFrom("@is-leader --format=json\ntrue\nnot a header\n@config-get --format=json\n{}\n");
    expect(await answers.take(invocation("is-leader", "--format=json"))).toMatchObject({ stdout: "true\n" });
    expect(await answers.take(invocation("config-get", "--format=json"))).toBeUndefined();
  });

  test("a frame cut off by the end of the stream is not used", async () => {
    const answers = answersFrom("@is-leader --format=json\ntru");
    expect(await answers.take(invocation("is-leader", "--format=json"))).toBeUndefined();
  });

  test("the clock frame dates the answers that follow it, erring early", async () => {
    const before = Date.now();
    const answers = answersFrom("@clock 100.00\n@is-leader --format=json\ntrue\n", 1000, 102.5);
    const exit = await answers.take(invocation("is-leader", "--format=json"));
    expect(exit?.askedAt).toBeLessThanOrEqual(before - 2500);
    expect(exit?.askedAt).toBeGreaterThan(before - 2600);
  });

  test("without a usable clock an answer is dated as old as can be", async () => {
    expect((await answersFrom("@is-leader --format=json\ntrue\n").take(invocation("is-leader", "--format=json")))?.askedAt).toBe(Number.NEGATIVE_INFINITY);
    expect((await answersFrom("@clock 100\n@is-leader --format=json\ntrue\n", 1000, 50).take(invocation("is-leader", "--format=json")))?.askedAt).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });
});

describe("readDispatchPrefetch", () => {
  test("reads stdin only when dispatch said it pipes a prefetch there", async () => {
    let asked = false;
    expect(readDispatchPrefetch({}, () => ((asked = true), new PassThrough()))).toBeUndefined();
    expect(asked).toBe(false);

    const stdin = new PassThrough();
    const answers = readDispatchPrefetch({ [HOOK_TOOL_PREFETCH_ENV]: "stdin" }, () => stdin);
    stdin.end("@is-leader --format=json\ntrue\n");
    expect(await answers?.take(invocation("is-leader", "--format=json"))).toMatchObject({ stdout: "true\n" });
  });
});

describe("prefetchShellFunction", () => {
  let toolbox: FakeToolbox;

  beforeEach(async () => {
    toolbox = await createFakeToolbox();
    await toolbox.install("is-leader", { stdout: "true\n" });
    await toolbox.install("config-get", { stdout: '{"pause-after-unit-refresh":"first"}\n' });
    await toolbox.install("goal-state", { stdout: '{"units":{"db/0":{"status":"active"}},"relations":{}}\n' });
    await toolbox.install("relation-ids", { stdout: '["refresh-v-three:4"]\n' });
    await toolbox.install("relation-list", { stdout: '["db/1","db/2"]\n' });
    await toolbox.install("status-get", { stdout: '{"message":"ready","status":"active","status-data":{}}\n' });
    // Each databag names its owner, so the test can tell the frames apart.
    const relationGet = join(toolbox.bin, "relation-get");
    await writeFile(relationGet, '#!/bin/sh\nfor last; do :; done\nprintf \'{"owner":"%s"}\\n\' "$last"\n');
    await chmod(relationGet, 0o755);
  });
  afterEach(async () => {
    await toolbox.cleanup();
  });

  test("reads leadership, config, goal state and the peer relation's databags, one frame each", async () => {
    const output = await prefetchOutput(toolbox, { JUJU_UNIT_NAME: "db/0" });
    expect(output.split("\n").filter((line) => line.startsWith("@") && !line.startsWith("@clock")).sort()).toEqual([
      "@is-leader --format=json",
      "@config-get --format=json",
      "@goal-state --format=json",
      "@relation-ids --format=json -- refresh-v-three",
      "@relation-list --format=json -r refresh-v-three:4",
      "@relation-get --format=json -r refresh-v-three:4 --app - db",
      "@relation-get --format=json -r refresh-v-three:4 - db/0",
      "@relation-get --format=json -r refresh-v-three:4 - db/1",
      "@relation-get --format=json -r refresh-v-three:4 - db/2",
      "@status-get --format=json --include-data",
      "@status-get --format=json --include-data --application",
    ].sort());
    expect(output).toContain('@relation-get --format=json -r refresh-v-three:4 - db/2\n{"owner":"db/2"}\n');
    expect(output).toMatch(/^@clock \d+(\.\d+)?\n/);
  });

  test("the hook tools use every prefetched answer instead of starting a process", async () => {
    const answers = answersFrom(await prefetchOutput(toolbox, { JUJU_UNIT_NAME: "db/0" }));
    const started: ToolInvocation[] = [];
    const tools = createHookTools({
      unitName: "db/0",
      prefetched: answers,
      spawn: (call) => {
        started.push(call);
        return Promise.reject(new Error(`${call.tool} was started although it was prefetched`));
      },
    });
    const [relation] = await tools.relationIds("refresh-v-three");
    expect(relation).toBe("refresh-v-three:4");
    const members = await tools.relationList("refresh-v-three:4");
    expect(members).toEqual(["db/1", "db/2"]);
    const bags = await Promise.all([{ app: "db" }, { unit: "db/0" }, ...members.map((unit) => ({ unit }))].map((owner) => tools.relationGet("refresh-v-three:4", owner)));
    expect(bags.map((bag) => bag["owner"])).toEqual(["db", "db/0", "db/1", "db/2"]);
    expect(await tools.isLeader()).toBe(true);
    expect(await tools.configGet()).toEqual({ "pause-after-unit-refresh": "first" });
    expect((await tools.goalState()).units).toEqual({ "db/0": { status: "active" } });
    await tools.statusSet({ status: "active", message: "ready" });
    expect(started).toEqual([]);
    expect(tools.stats(), "prefetched answers are not processes this hook started").toEqual({});
  });

  test("leadership read by the shell is reused only for what is left of Juju's 30 s since the shell asked", async () => {
    let now = Date.now();
    // The shell read the clock 29.9 s before this hook asks: the guarantee has 0.1 s left.
    const answers = answersFrom("@clock 1000.00\n@is-leader --format=json\ntrue\n", 1000, 1029.9);
    const started: string[] = [];
    const tools = createHookTools({
      prefetched: answers,
      now: () => now,
      spawn: (call) => {
        started.push(call.tool);
        return Promise.resolve({ exitCode: 0, signal: undefined, stdout: "true\n", stderr: "" });
      },
    });
    expect(await tools.isLeader()).toBe(true);
    expect(started).toEqual([]);
    now += 200;
    expect(await tools.isLeader()).toBe(true);
    expect(started, "asked again: the prefetched answer is older than it looks").toEqual(["is-leader"]);
  });

  test("reads the application's status only on the leader, who alone may", async () => {
    await toolbox.install("is-leader", { stdout: "false\n" });
    const output = await prefetchOutput(toolbox, { JUJU_UNIT_NAME: "db/0" });
    expect(output).toContain("@status-get --format=json --include-data\n");
    expect(output).not.toContain("--application");
  });

  test("leadership read by a shell without a clock is used once and then asked again", async () => {
    const started: string[] = [];
    const tools = createHookTools({
      prefetched: answersFrom("@is-leader --format=json\ntrue\n"),
      spawn: (call) => {
        started.push(call.tool);
        return Promise.resolve({ exitCode: 0, signal: undefined, stdout: "true\n", stderr: "" });
      },
    });
    expect(await tools.isLeader()).toBe(true);
    expect(await tools.isLeader()).toBe(true);
    expect(started).toEqual(["is-leader"]);
  });

  test("a tool that fails leaves no frame, so the hook runs it and sees the real error", async () => {
    await toolbox.install("config-get", { stderr: "ERROR permission denied\n", exitCode: 2 });
    const output = await prefetchOutput(toolbox, { JUJU_UNIT_NAME: "db/0" });
    expect(output).not.toContain("@config-get");
    expect(output).toContain("@relation-ids");
  });

  test("unit names that are not Juju unit names are never passed to a tool", async () => {
    await toolbox.install("relation-list", { stdout: '["db/1","$(touch pwned)","db/2 --app","db;x","db/3"]\n' });
    const output = await prefetchOutput(toolbox, { JUJU_UNIT_NAME: "db/0" });
    expect(output.split("\n").filter((line) => line.startsWith("@relation-get")).map((line) => line.split(" ").at(-1)).sort()).toEqual(["db", "db/0", "db/1", "db/3"]);
  });

  test("every member's databag arrives whole, with its own answer", async () => {
    const members = Array.from({ length: 40 }, (_, index) => `db/${index + 1}`);
    await toolbox.install("relation-list", { stdout: `${JSON.stringify(members)}\n` });
    const answers = answersFrom(await prefetchOutput(toolbox, { JUJU_UNIT_NAME: "db/0" }), 61);
    for (const unit of members) {
      const exit = await answers.take(invocation("relation-get", "--format=json", "-r", "refresh-v-three:4", "-", unit));
      expect(exit?.stdout, unit).toBe(`{"owner":"${unit}"}\n`);
    }
  });

  test("reads nothing outside a unit's hook (no JUJU_UNIT_NAME)", async () => {
    expect(await prefetchOutput(toolbox, {})).toBe("");
    expect(await toolbox.calls()).toEqual([]);
  });

  test("refuses an endpoint name that could not be a Juju endpoint", () => {
    expect(() => prefetchShellFunction({ peerEndpoints: ["peers; rm -rf /"], goalState: false })).toThrow(InvalidPrefetchPlan);
    expect(() => prefetchShellFunction({ peerEndpoints: ["Peers"], goalState: false })).toThrow(/lower-case letters, digits and dashes/);
  });

  test("refuses a marker file that is not a plain relative path", () => {
    for (const file of ["../outside", "/etc/passwd", "a/../b", 'x"; rm -rf / #', "$(id)", ""]) {
      expect(() => prefetchShellFunction({ peerEndpoints: [], goalState: true, goalStateUnlessFile: file }), file).toThrow(InvalidPrefetchPlan);
    }
    expect(() => prefetchShellFunction({ peerEndpoints: [], goalState: true, goalStateUnlessFile: ".charm_refresh_v3/machines_peer_relation_initialized" })).not.toThrow();
  });

  test("leaves goal-state out once the marker file exists in the charm directory", async () => {
    const charmDir = await mkdtemp(join(tmpdir(), "prefetch-charm-"));
    try {
      const plan = { peerEndpoints: [], goalState: true, goalStateUnlessFile: ".charm_refresh_v3/joined" };
      const run = async () =>
        (await execFileAsync("/bin/sh", ["-c", `${prefetchShellFunction(plan)}refresh_prefetch\n`], { env: toolbox.env({ JUJU_UNIT_NAME: "db/0", JUJU_CHARM_DIR: charmDir }) })).stdout;
      expect(await run()).toContain("@goal-state --format=json\n");
      await mkdir(join(charmDir, ".charm_refresh_v3"));
      await writeFile(join(charmDir, ".charm_refresh_v3", "joined"), "");
      expect(await run()).not.toContain("goal-state");
    } finally {
      await rm(charmDir, { recursive: true, force: true });
    }
  });
});

describe("sets that repeat what Juju already shows", () => {
  const statusFrames =
    '@status-get --format=json --include-data\n{"message":"ready","status":"active","status-data":{}}\n' +
    '@status-get --format=json --include-data --application\n{"application-status":{"message":"","status":"active","status-data":{},"units":{}}}\n';

  function recordingTools(prefetched: PrefetchedAnswers | undefined, workloadVersionRecord?: WorkloadVersionRecord) {
    const started: string[][] = [];
    const tools = createHookTools({
      unitName: "db/0",
      ...(prefetched === undefined ? {} : { prefetched }),
      ...(workloadVersionRecord === undefined ? {} : { workloadVersionRecord }),
      spawn: (call) => {
        started.push([call.tool, ...call.args]);
        return Promise.resolve({ exitCode: 0, signal: undefined, stdout: "", stderr: "" });
      },
    });
    return { tools, started };
  }

  test("a status equal to what the unit and the application showed when the hook started is not sent", async () => {
    const { tools, started } = recordingTools(answersFrom(statusFrames));
    await Promise.all([tools.statusSet({ status: "active", message: "ready" }), tools.statusSet({ status: "active", message: "ready" })]);
    await tools.statusSet({ status: "active", message: "" }, { application: true });
    expect(started).toEqual([]);
  });

  test("a different status is sent, and from then on the hook's own sets decide", async () => {
    const { tools, started } = recordingTools(answersFrom(statusFrames));
    await tools.statusSet({ status: "maintenance", message: "refreshing" });
    // Back to what it showed at the start: Juju now shows "refreshing", so this must be sent.
    await tools.statusSet({ status: "active", message: "ready" });
    expect(started).toEqual([
      ["status-set", "maintenance", "--", "refreshing"],
      ["status-set", "active", "--", "ready"],
    ]);
  });

  test("without a prefetched status-get every status is sent once", async () => {
    const { tools, started } = recordingTools(answersFrom(""));
    await tools.statusSet({ status: "active", message: "ready" });
    await tools.statusSet({ status: "active", message: "ready" });
    expect(started).toEqual([["status-set", "active", "--", "ready"]]);
  });

  test("a status-get answer that is not a status is no reason to skip a set", async () => {
    const { tools, started } = recordingTools(answersFrom('@status-get --format=json --include-data\n{"status":"dancing"}\n'));
    await tools.statusSet({ status: "active", message: "" });
    expect(started).toEqual([["status-set", "active", "--", ""]]);
  });

  describe("the workload version record", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "version-record-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test("is written after a set, and a later hook setting the same version sends nothing", async () => {
      const record = { path: join(dir, ".refresh_cache", "workload_version"), codeIdentity: "code-1" };
      const first = recordingTools(undefined, record);
      await first.tools.applicationVersionSet("14.9");
      expect(first.started).toEqual([["application-version-set", "--", "14.9"]]);
      expect(await readFile(record.path, "utf8")).toBe("code-1\n14.9");

      const next = recordingTools(undefined, record);
      await next.tools.applicationVersionSet("14.9");
      expect(next.started).toEqual([]);
      await next.tools.applicationVersionSet("15.0");
      expect(next.started).toEqual([["application-version-set", "--", "15.0"]]);
      expect(await readFile(record.path, "utf8")).toBe("code-1\n15.0");
    });

    test("written under other charm code, it is not trusted: that code may have set another version", async () => {
      const path = join(dir, "workload_version");
      await writeFile(path, "code-1\n14.9");
      const redeployed = recordingTools(undefined, { path, codeIdentity: "code-2" });
      await redeployed.tools.applicationVersionSet("14.9");
      expect(redeployed.started).toEqual([["application-version-set", "--", "14.9"]]);
      expect(await readFile(path, "utf8")).toBe("code-2\n14.9");
    });

    test("is left alone when the set fails, so the next hook tries again", async () => {
      const record = { path: join(dir, "workload_version"), codeIdentity: "code-1" };
      await writeFile(record.path, "code-1\n14.9");
      const tools = createHookTools({
        unitName: "db/0",
        workloadVersionRecord: record,
        spawn: () => Promise.resolve({ exitCode: 1, signal: undefined, stdout: "", stderr: "ERROR connection lost\n" }),
      });
      await expect(tools.applicationVersionSet("15.0")).rejects.toThrow(/application-version-set/);
      expect(await readFile(record.path, "utf8")).toBe("code-1\n14.9");
    });
  });
});
