// `refresh-sim run` must fail a rehearsal whose charm breaks a refresh invariant. Two charm
// apps under __fixtures__ are broken on purpose, each in the one way its substrate's
// invariants exist to catch; the command runs as users run it (the bin, real dispatch
// processes), and the report must say which step broke what.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);
const refreshSim = fileURLToPath(new URL("../bin/refresh-sim.mjs", import.meta.url));
const fixture = (path: string): string => fileURLToPath(new URL(`./__fixtures__/${path}`, import.meta.url));

interface Report {
  final: { units: { name: string; charmRevision: number; workloadVersion: string; workloadRunning: boolean }[] };
  violations: { step: number; invariant: string; explanation: string }[];
}

async function refreshSimRun(args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [refreshSim, "run", ...args], { maxBuffer: 64 << 20 });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { exitCode: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe.concurrent("refresh-sim run with a charm that breaks an invariant", { timeout: 180_000 }, () => {
  it("Kubernetes: a workload started on an incompatible revision without force-refresh-start exits 1 and names the unit and step", async () => {
    const scenario = fixture("unguarded-k8s/scenarios/incompatible-refresh.yaml");
    const json = await refreshSimRun([scenario, "--json"]);
    expect(json.exitCode, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as Report;
    // The broken charm really did it: the refreshed unit runs the new major version.
    expect(report.final.units.find((unit) => unit.name === "unguarded-k8s/1")).toMatchObject({ charmRevision: 3, workloadVersion: "2.0", workloadRunning: true });
    expect(report.violations).toEqual([
      {
        step: 1,
        invariant: "Kubernetes refresh invariants",
        explanation: expect.stringMatching(/^unguarded-k8s\/1 runs its workload on \S+ \(charm 1\/2\.0\.0, image sha256:1fa4572f\w+\), for which the refresh has not started, and that is not the original version \(seen after unguarded-k8s\/\d ran [\w-]+\)$/),
      },
    ]);

    // Without --json the same verdict, for a person: the step as numbered in the file.
    const text = await refreshSimRun([scenario]);
    expect(text.exitCode, text.stderr).toBe(1);
    expect(text.stdout).toContain("violation at step 2 (Kubernetes refresh invariants): unguarded-k8s/1 runs its workload on");
    expect(text.stdout).not.toContain("no invariant violated");
  });

  it("machines: a snap installed while the peer relation is not ready exits 1 and reports it during deployment", async () => {
    const scenario = fixture("eager-machines/scenarios/deploy.yaml");
    const json = await refreshSimRun([scenario, "--json"]);
    expect(json.exitCode, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as Report;
    const explanations = report.violations.map((violation) => violation.explanation);
    // Which hook's end first shows a unit's snap depends on how the deploying hooks interleave;
    // that each unit's install is caught, during deployment, does not.
    for (const unit of ["eager-machines/0", "eager-machines/1"]) {
      expect(explanations).toContainEqual(
        expect.stringMatching(new RegExp(`^${unit} changed its snap \\(install-snap\\) in an event where Machines.create raised peer-relation-not-ready \\(seen after eager-machines/\\d ran [a-z-]+\\)$`)),
      );
    }
    expect(report.violations.every((violation) => violation.step === -1 && violation.invariant === "machines refresh invariants")).toBe(true);
    // Each problem once, when it appears, not again after every later hook.
    expect(new Set(explanations.map((text) => text.replace(/ \(seen after .*\)$/, ""))).size).toBe(explanations.length);
  });
});
