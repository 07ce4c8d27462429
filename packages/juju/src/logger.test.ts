import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJujuLogger } from "./logger.js";
import { createHookTools } from "./process-hook-tools.js";
import { createFakeToolbox } from "./test-support/fake-tools.js";
import type { FakeToolbox } from "./test-support/fake-tools.js";

let box: FakeToolbox;

beforeEach(async () => {
  box = await createFakeToolbox();
});

afterEach(async () => {
  await box.cleanup();
});

describe("createJujuLogger", () => {
  it("writes every line through juju-log at the matching level, in order, by the time flush resolves", async () => {
    await box.install("juju-log");
    const fallback: string[] = [];
    const log = createJujuLogger(createHookTools({ env: box.env() }), { fallback: (line) => fallback.push(line) });
    log.debug("d");
    log.info("i");
    log.warning("-w");
    log.error("e\nmultiline");
    await log.flush();
    expect((await box.calls()).map((call) => call.args)).toEqual([
      ["--log-level", "DEBUG", "--", "d"],
      ["--log-level", "INFO", "--", "i"],
      ["--log-level", "WARNING", "--", "-w"],
      ["--log-level", "ERROR", "--", "e\nmultiline"],
    ]);
    expect(fallback).toEqual([]);
  });

  it("returns to the caller before juju-log has run", async () => {
    await box.install("juju-log");
    const log = createJujuLogger(createHookTools({ env: box.env() }));
    log.info("queued");
    expect(await box.calls()).toEqual([]);
    await log.flush();
    expect(await box.calls()).toHaveLength(1);
  });

  it("waits in flush for lines logged while flushing", async () => {
    await box.install("juju-log");
    const log = createJujuLogger(createHookTools({ env: box.env() }));
    log.info("first");
    const flushed = log.flush();
    log.info("second");
    await flushed;
    expect((await box.calls()).map((call) => call.args.at(-1))).toEqual(["first", "second"]);
  });

  it("falls back to stderr when juju-log is missing or failing, without throwing and without retrying it per line", async () => {
    const fallback: string[] = [];
    const tools = createHookTools({ env: box.env() });
    const log = createJujuLogger(tools, { fallback: (line) => fallback.push(line) });
    expect(() => log.info("one")).not.toThrow();
    log.error("two");
    await log.flush();
    expect(fallback[0]).toMatch(/^WARNING juju-log failed.*PATH/);
    expect(fallback.slice(1)).toEqual(["INFO one\n", "ERROR two\n"]);
    expect(tools.stats()).toEqual({ "juju-log": 1 });
  });

  it("survives a fallback that throws as well", async () => {
    await box.install("juju-log", { exitCode: 1, stderr: "ERROR connection refused\n" });
    const log = createJujuLogger(createHookTools({ env: box.env() }), {
      fallback: () => {
        throw new Error("stderr closed");
      },
    });
    log.info("lost");
    await expect(log.flush()).resolves.toBeUndefined();
  });
});
