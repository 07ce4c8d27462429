import { describe, expect, it } from "vitest";
import { InvalidActionParameters } from "../errors.js";
import {
  forceRefreshStartSkipsAnyCheck,
  parseForceRefreshStartParameters,
  parsePreRefreshCheckParameters,
  parseResumeRefreshParameters,
  pauseConfigOptionDefinition,
  refreshActionDefinitions,
  skippedChecks,
} from "./actions.js";

function rejection(parse: () => unknown): InvalidActionParameters {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidActionParameters);
    return error as InvalidActionParameters;
  }
  throw new Error("expected the parameters to be rejected");
}

describe("action definitions", () => {
  it("declare the three actions with boolean parameters defaulting to true and no extra parameters", () => {
    const actions = refreshActionDefinitions({ substrate: "kubernetes", workloadName: "PostgreSQL" });
    expect(Object.keys(actions)).toEqual(["pre-refresh-check", "force-refresh-start", "resume-refresh"]);
    expect(actions["pre-refresh-check"].params).toBeUndefined();
    expect(Object.keys(actions["force-refresh-start"].params ?? {}).sort()).toEqual([
      "check-compatibility",
      "check-workload-container",
      "run-pre-refresh-checks",
    ]);
    expect(Object.keys(actions["resume-refresh"].params ?? {})).toEqual(["check-health-of-refreshed-units"]);
    for (const action of Object.values(actions)) {
      expect(action.additionalProperties).toBe(false);
      for (const param of Object.values(action.params ?? {})) expect(param).toMatchObject({ type: "boolean", default: true });
    }
  });

  it("leave out the container check on machines, and say where to run resume-refresh on each substrate", () => {
    const machines = refreshActionDefinitions({ substrate: "machines", workloadName: "MySQL" });
    const kubernetes = refreshActionDefinitions({ substrate: "kubernetes", workloadName: "MySQL" });
    expect(machines["force-refresh-start"].params).not.toHaveProperty("check-workload-container");
    expect(machines["resume-refresh"].description).toMatch(/refreshes next/);
    expect(kubernetes["resume-refresh"].description).toMatch(/leader/);
  });

  it("name the workload in the descriptions", () => {
    const actions = refreshActionDefinitions({ substrate: "kubernetes", workloadName: "Charmed Kafka" });
    expect(actions["pre-refresh-check"].description).toContain("Charmed Kafka");
    expect(actions["force-refresh-start"].params?.["run-pre-refresh-checks"]?.description).toContain("Charmed Kafka");
    expect(pauseConfigOptionDefinition({ substrate: "machines", workloadName: "Charmed Kafka" })).toMatchObject({
      type: "string",
      default: "first",
    });
  });
});

describe("action parameters", () => {
  it("apply the defaults", () => {
    expect(parseForceRefreshStartParameters({ "check-compatibility": false })).toEqual({
      checkCompatibility: false,
      runPreRefreshChecks: true,
      checkWorkloadContainer: true,
    });
    expect(parseResumeRefreshParameters({})).toEqual({ checkHealthOfRefreshedUnits: true });
    expect(parseResumeRefreshParameters(undefined)).toEqual({ checkHealthOfRefreshedUnits: true });
    expect(parsePreRefreshCheckParameters({})).toEqual({});
  });

  it("name the parameter with the wrong type", () => {
    const error = rejection(() => parseResumeRefreshParameters({ "check-health-of-refreshed-units": "false" }));
    expect(error.code).toBe("INVALID_ACTION_PARAMETERS");
    expect(error.parameter).toBe("check-health-of-refreshed-units");
    expect(error.message).toContain("check-health-of-refreshed-units");
    expect(error.message).toContain("boolean");
  });

  it("name a parameter the action does not have", () => {
    const error = rejection(() => parseForceRefreshStartParameters({ "check-compatability": false }));
    expect(error.action).toBe("force-refresh-start");
    expect(error.parameter).toBe("check-compatability");
    expect(rejection(() => parsePreRefreshCheckParameters({ force: true })).parameter).toBe("force");
  });

  it("tell whether force-refresh-start skips anything", () => {
    expect(forceRefreshStartSkipsAnyCheck(parseForceRefreshStartParameters({}))).toBe(false);
    expect(forceRefreshStartSkipsAnyCheck(parseForceRefreshStartParameters({ "check-workload-container": false }))).toBe(true);
  });

  it("list the skipped checks in the order the checks run", () => {
    expect(skippedChecks(parseForceRefreshStartParameters({}))).toEqual([]);
    const all = { "run-pre-refresh-checks": false, "check-compatibility": false, "check-workload-container": false };
    expect(skippedChecks(parseForceRefreshStartParameters(all))).toEqual([
      "check-workload-container=false",
      "check-compatibility=false",
      "run-pre-refresh-checks=false",
    ]);
  });
});
