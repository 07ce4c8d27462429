import { execFile } from "node:child_process";
import { rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HookTools } from "./hook-tools.js";
import { runCharm } from "./run-charm.js";
import { writeCharmScript } from "./test-support/charm-script.js";
import { createFakeToolbox } from "./test-support/fake-tools.js";
import type { FakeToolbox } from "./test-support/fake-tools.js";

const JUJU_ENV = {
  JUJU_DISPATCH_PATH: "hooks/update-status",
  JUJU_UNIT_NAME: "db/1",
  JUJU_MODEL_NAME: "prod",
  JUJU_MODEL_UUID: "0b5d6a8e-1f0c-4d7e-9a4b-3c2d1e0f9a8b",
  JUJU_VERSION: "3.6.4",
};

let box: FakeToolbox;
let charm: string;

beforeEach(async () => {
  box = await createFakeToolbox();
  charm = join(box.bin, "..", "charm.mjs");
  await writeCharmScript(charm);
  for (const tool of ["juju-log", "action-fail", "action-set"]) await box.install(tool);
});

afterEach(async () => {
  await box.cleanup();
});

/** Runs the charm like `dispatch` would: a fresh process with only Juju's environment. */
function dispatch(env: Record<string, string>): Promise<{ exitCode: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--no-warnings", charm], { env: box.env(env), cwd: dirname(charm) }, (error, _stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ exitCode: code, stderr });
    });
  });
}

async function jujuLogLines(): Promise<string[][]> {
  return (await box.calls()).filter((call) => call.tool === "juju-log").map((call) => call.args.slice(1));
}

describe("runCharm in a real process", () => {
  it("sets the workload version once per deployment of the charm code, not on every event", async () => {
    await box.install("application-version-set");
    const versionSets = async () => (await box.calls()).filter((call) => call.tool === "application-version-set").length;
    const deployDispatch = async () => {
      // Juju writes dispatch anew with every deployment of charm code, even of the same revision.
      await writeFile(join(dirname(charm), "dispatch.new"), "#!/bin/sh\n");
      await rename(join(dirname(charm), "dispatch.new"), join(dirname(charm), "dispatch"));
    };
    await deployDispatch();
    expect((await dispatch({ ...JUJU_ENV, CHARM_TEST_MODE: "version" })).exitCode).toBe(0);
    expect((await dispatch({ ...JUJU_ENV, CHARM_TEST_MODE: "version" })).exitCode).toBe(0);
    expect(await versionSets()).toBe(1);

    await deployDispatch();
    expect((await dispatch({ ...JUJU_ENV, CHARM_TEST_MODE: "version" })).exitCode).toBe(0);
    expect(await versionSets(), "new charm code may have set another version: set it again").toBe(2);
  });

  it("runs the handler, writes its log lines through juju-log, and exits 0", async () => {
    const result = await dispatch(JUJU_ENV);
    expect(result).toEqual({ exitCode: 0, stderr: "" });
    expect(await jujuLogLines()).toEqual([["INFO", "--", "running hook update-status on db/1"]]);
  });

  it("runs an action: results are set and the action is not failed", async () => {
    const result = await dispatch({ ...JUJU_ENV, JUJU_DISPATCH_PATH: "actions/resume-refresh", JUJU_ACTION_UUID: "7", CHARM_TEST_MODE: "action" });
    expect(result.exitCode).toBe(0);
    // The log line is written in the background, so the two tools may start in either order.
    const calls = (await box.calls()).map((call) => [call.tool, ...call.args.slice(-1)]);
    expect(calls).toHaveLength(2);
    expect(calls).toEqual(
      expect.arrayContaining([
        ["action-set", "result=done"],
        ["juju-log", "running action resume-refresh on db/1"],
      ]),
    );
  });

  it("fails the hook on an uncaught error: ERROR in juju-log with the stack, the same on stderr, exit 1", async () => {
    const result = await dispatch({ ...JUJU_ENV, CHARM_TEST_MODE: "throw" });
    expect(result.exitCode).toBe(1);
    const lines = await jujuLogLines();
    expect(lines[0]).toEqual(["INFO", "--", "running hook update-status on db/1"]);
    const [level, , report = ""] = lines[1] ?? [];
    expect(level).toBe("ERROR");
    expect(report).toMatch(/^hook update-status failed: Error: workload unreachable\n\s+at /);
    expect(report).toContain("caused by: Error: connection refused");
    expect(result.stderr).toContain(report);
    expect((await box.calls()).some((call) => call.tool === "action-fail")).toBe(false);
  });

  it("fails an action with action-fail carrying the error message, before logging it", async () => {
    const result = await dispatch({ ...JUJU_ENV, JUJU_DISPATCH_PATH: "actions/force-refresh-start", JUJU_ACTION_UUID: "8", CHARM_TEST_MODE: "throw" });
    expect(result.exitCode).toBe(1);
    const calls = (await box.calls()).map((call) => [call.tool, ...call.args.slice(0, 2)]);
    expect(calls).toEqual([
      ["juju-log", "--log-level", "INFO"],
      ["action-fail", "--", "workload unreachable"],
      ["juju-log", "--log-level", "ERROR"],
    ]);
  });

  it("exits 1 naming the variable when the Juju environment is incomplete, and still tries juju-log", async () => {
    const { JUJU_UNIT_NAME: _omitted, ...withoutUnit } = JUJU_ENV;
    const result = await dispatch(withoutUnit);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("JUJU_UNIT_NAME is not set");
    const lines = await jujuLogLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[0]).toBe("ERROR");
    expect(lines[0]?.[2]).toContain("JUJU_UNIT_NAME is not set");
  });

  it("still exits 1 with the error on stderr when no hook tool works at all", async () => {
    await box.cleanup();
    box = await createFakeToolbox();
    charm = join(box.bin, "..", "charm.mjs");
    await writeCharmScript(charm);
    const result = await dispatch({ ...JUJU_ENV, CHARM_TEST_MODE: "throw" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("juju-log failed");
    expect(result.stderr).toContain("hook update-status failed: Error: workload unreachable");
  });
});

describe("runCharm in process", () => {
  it("reports a failing action-fail on stderr and still exits 1", async () => {
    const stderr: string[] = [];
    const exits: number[] = [];
    const failing = new Error("not running an action");
    const tools = new Proxy({} as HookTools, {
      get: (_target, name) => (name === "actionFail" ? () => Promise.reject(failing) : () => Promise.resolve()),
    });
    const code = await runCharm(
      () => Promise.reject(new Error("boom")),
      {
        env: { ...JUJU_ENV, JUJU_DISPATCH_PATH: "actions/pre-refresh-check", JUJU_ACTION_UUID: "3" },
        cwd: "/charm",
        createTools: () => tools,
        stderr: (text) => stderr.push(text),
        exit: (c) => exits.push(c),
      },
    );
    expect(code).toBe(1);
    expect(exits).toEqual([1]);
    expect(stderr[0]).toContain("action-fail failed as well: Error: not running an action");
    expect(stderr[1]).toContain("action pre-refresh-check failed: Error: boom");
  });

  it("hands the handler the parsed context, using the working directory as charm directory", async () => {
    const seen: string[] = [];
    const code = await runCharm(
      async ({ context }) => {
        seen.push(context.charmDir, context.appName);
      },
      { env: JUJU_ENV, cwd: "/srv/charm", createTools: () => new Proxy({} as HookTools, { get: () => () => Promise.resolve() }), exit: () => undefined },
    );
    expect(code).toBe(0);
    expect(seen).toEqual(["/srv/charm", "db"]);
  });
});
