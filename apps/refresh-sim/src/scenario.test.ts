import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main, type Io } from "./cli.js";
import { RefreshSimError } from "./errors.js";
import { parseScenario } from "./scenario.js";

function problemsOf(text: string): string {
  try {
    parseScenario(text, "/tmp/s.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(RefreshSimError);
    expect((error as RefreshSimError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error("the scenario was accepted");
}

describe("parseScenario", () => {
  it("reads every step kind and applies the defaults", () => {
    const scenario = parseScenario(
      [
        "charm: ../../sample-k8s",
        "steps:",
        "  - refresh: { to: v2, resource: img@sha256:abc }",
        "  - settle: {}",
        "  - action: { unit: next, name: resume-refresh, params: { check-health-of-refreshed-units: false } }",
        "  - config: { pause-after-unit-refresh: all }",
        "  - add-unit: 2",
        "  - remove-unit: 4",
        "  - evict: 1",
        "  - fail-next-hook: { unit: 0 }",
        "  - workload-health: { unit: 2, healthy: false }",
      ].join("\n"),
      "/work/apps/x/scenarios/s.yaml",
    );
    expect(scenario.charm).toBe("/work/apps/sample-k8s");
    expect(scenario.units).toBe(3);
    expect(scenario.seed).toBe(1);
    expect(scenario.steps.map((step) => step.kind)).toEqual([
      "refresh", "settle", "action", "config", "add-unit", "remove-unit", "evict", "fail-next-hook", "workload-health",
    ]);
    expect(scenario.steps[2]).toEqual({ kind: "action", value: { unit: "next", name: "resume-refresh", params: { "check-health-of-refreshed-units": false } } });
  });

  it("names the field and what is allowed when a step is wrong", () => {
    expect(problemsOf("charm: ..\nsteps:\n  - action: { unit: first, name: x }\n")).toContain('steps[0].action.unit: must be a unit number, "leader" or "next"');
    expect(problemsOf("charm: ..\nsteps:\n  - jump: {}\n")).toMatch(/steps\[0\]: "jump" is not a step; use one of refresh, settle, action/);
    expect(problemsOf("charm: ..\nsteps:\n  - settle: {}\n    add-unit: 1\n")).toContain("steps[0]: must have exactly one key");
    expect(problemsOf("charm: ..\nsteps:\n  - workload-health: { unit: 1, healthy: maybe }\n")).toContain("steps[0].workload-health.healthy: must be true or false");
  });

  it("refuses unknown top-level keys and a missing charm", () => {
    const message = problemsOf("units: 0\nseeds: 3\n");
    expect(message).toContain("charm: must be the path to a charm app");
    expect(message).toContain("units:");
    expect(message).toMatch(/seeds/);
  });
});

describe("refresh-sim command line", () => {
  function capture(): { io: Io; out: () => string; err: () => string } {
    let out = "";
    let err = "";
    return {
      io: { stdout: { write: (text: string) => (out += text) }, stderr: { write: (text: string) => (err += text) }, environment: {} },
      out: () => out,
      err: () => err,
    };
  }

  it("exits 2 for an invalid scenario file, naming the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "refresh-sim-test-"));
    const file = join(dir, "bad.yaml");
    await writeFile(file, "charm: ..\nsteps:\n  - refresh: { to: [] }\n");
    const { io, err } = capture();
    expect(await main(["run", file], io)).toBe(2);
    expect(err()).toContain("steps[0].refresh.to: must name a revision from revisions.yaml");
  });

  it("exits 2 for a missing scenario file and for unknown commands or options", async () => {
    const first = capture();
    expect(await main(["run", "/nonexistent/scenario.yaml"], first.io)).toBe(2);
    expect(first.err()).toContain("cannot read scenario file /nonexistent/scenario.yaml");
    const second = capture();
    expect(await main(["rehearse"], second.io)).toBe(2);
    expect(second.err()).toContain('unknown command "rehearse"');
    const third = capture();
    expect(await main(["run", "x.yaml", "--seed", "minus-one"], third.io)).toBe(2);
    expect(await main(["demo", "--substrate", "vms"], third.io)).toBe(2);
    expect(third.err()).toContain("--substrate must be kubernetes or machines");
  });
});
