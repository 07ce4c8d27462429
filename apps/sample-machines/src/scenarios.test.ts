// Runs every scenario in ../scenarios through `refresh-sim run --json`, in process mode: each
// hook is the built charm's real `dispatch`, with hook tools on PATH and a fake
// snapd per machine. The assertions are the final states a user would expect to see.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const appDir = fileURLToPath(new URL("..", import.meta.url));
const refreshSim = fileURLToPath(new URL("../../refresh-sim/bin/refresh-sim.mjs", import.meta.url));

interface Unit {
  name: string;
  charmRevision: number;
  workloadVersion: string;
  workloadRunning: boolean;
  status: string;
  message: string;
}
interface Report {
  steps: { step: Record<string, unknown>; result: Record<string, unknown> | null; status: { app: { status: string; message: string }; units: Unit[] } }[];
  final: { app: { status: string; message: string }; units: Unit[] };
  violations: { step: number; invariant: string; explanation: string }[];
}

// Each scenario runs once; tests that look at different parts of one run share it.
const runs = new Map<string, Promise<{ exitCode: number; report: Report }>>();
function scenario(name: string): Promise<{ exitCode: number; report: Report }> {
  let pending = runs.get(name);
  if (pending === undefined) {
    pending = runScenario(name);
    runs.set(name, pending);
  }
  return pending;
}

async function runScenario(name: string): Promise<{ exitCode: number; report: Report }> {
  try {
    const { stdout } = await run(process.execPath, [refreshSim, "run", `scenarios/${name}.yaml`, "--json"], { cwd: appDir, maxBuffer: 64 << 20 });
    return { exitCode: 0, report: JSON.parse(stdout) as Report };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number" || failed.stdout === undefined || failed.stdout === "") throw new Error(`refresh-sim failed: ${failed.stderr ?? String(error)}`, { cause: error });
    return { exitCode: failed.code, report: JSON.parse(failed.stdout) as Report };
  }
}

function expectAllOn(units: readonly Unit[], revision: number, workloadVersion: string): void {
  expect(units.map((unit) => [unit.name, unit.charmRevision, unit.workloadVersion, unit.workloadRunning])).toEqual(
    units.map((unit) => [unit.name, revision, workloadVersion, true]),
  );
}

beforeAll(async () => {
  // Build the revisions once, so the scenarios below (run concurrently) share the cache.
  await run(process.execPath, [refreshSim, "build", ".", "--revisions"], { cwd: appDir });
}, 120_000);

describe.concurrent("sample-machines scenarios", () => {
  for (const pause of ["none", "first", "all"]) {
    it(`refreshes every unit to v2 with pause-after-unit-refresh=${pause}`, async () => {
      const { exitCode, report } = await scenario(`pause-${pause}`);
      expect(report.violations).toEqual([]);
      expect(exitCode).toBe(0);
      expectAllOn(report.final.units, 2, "1.1");
      expect(report.final.app).toEqual({ status: "active", message: "" });
      expect(report.final.units.every((unit) => unit.status === "active" && unit.message === "")).toBe(true);
    });
  }

  it("pauses after the first unit until resume-refresh", async () => {
    const { report } = await scenario("pause-first");
    const paused = report.steps[1]?.status;
    expect(paused?.app.status).toBe("blocked");
    expect(paused?.app.message).toContain("resume-refresh");
    expect(paused?.units.filter((unit) => unit.workloadVersion === "1.1").map((unit) => unit.name)).toEqual(["sample-machines/2"]);
    expect(report.steps[2]?.result).toMatchObject({ action: "resume-refresh", status: "completed" });
  });

  it("stops an incompatible refresh until force-refresh-start, then finishes it", async () => {
    const { exitCode, report } = await scenario("incompatible-then-force");
    const refused = report.steps[1]?.status;
    expect(refused?.app.status).toBe("blocked");
    expect(refused?.units.some((unit) => unit.workloadRunning && unit.workloadVersion === "2.0")).toBe(false);
    expect(refused?.units.filter((unit) => unit.name !== "sample-machines/2").every((unit) => unit.workloadVersion === "1.0" && unit.workloadRunning)).toBe(true);
    expect(report.steps[2]?.result).toMatchObject({ action: "force-refresh-start", status: "completed" });
    expect(report.violations).toEqual([]);
    expect(exitCode).toBe(0);
    expectAllOn(report.final.units, 3, "2.0");
  });

  it("fails the pre-refresh check on an unhealthy member, starts nothing new, and rolls back", async () => {
    const { exitCode, report } = await scenario("precheck-failed");
    expect(report.steps[1]?.result).toMatchObject({ action: "pre-refresh-check", status: "failed" });
    expect(String(report.steps[1]?.result?.["message"])).toContain("unhealthy on sample-machines/0");
    const blocked = report.steps[3]?.status;
    expect(blocked?.units.some((unit) => unit.workloadRunning && unit.workloadVersion === "1.1")).toBe(false);
    expect(report.violations).toEqual([]);
    expect(exitCode).toBe(0);
    expectAllOn(report.final.units, 1, "1.0");
  });

  it("rolls back half way to the original revision", async () => {
    const { exitCode, report } = await scenario("rollback-half-way");
    expect(report.steps[1]?.status.units.map((unit) => unit.workloadVersion)).toEqual(["1.0", "1.0", "1.1"]);
    expect(report.violations).toEqual([]);
    expect(exitCode).toBe(0);
    expectAllOn(report.final.units, 1, "1.0");
  });

  it("scales up and down during a paused refresh and still finishes it", async () => {
    const { exitCode, report } = await scenario("scale-during-refresh");
    const scaledUp = report.steps[3]?.status.units.find((unit) => unit.name === "sample-machines/3");
    expect(scaledUp).toMatchObject({ charmRevision: 2, workloadVersion: "1.1", workloadRunning: true });
    expect(report.steps[5]?.status.units.map((unit) => unit.name)).toEqual(["sample-machines/0", "sample-machines/1", "sample-machines/2"]);
    expect(report.violations).toEqual([]);
    expect(exitCode).toBe(0);
    expectAllOn(report.final.units, 2, "1.1");
  });
});
