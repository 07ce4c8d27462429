import { parsePauseAfterUnitRefresh } from "@refresh/core";
import { describe, expect, it } from "vitest";
import { appStatus, lowerPriorityUnitStatus, precheckFailedStatus, type AppStatusInput } from "./statuses.js";

const order = ["db/12", "db/11", "db/10"];
const base: AppStatusInput = {
  appName: "postgresql",
  pause: parsePauseAfterUnitRefresh("first"),
  state: "TRUE",
  originalCharmhubRevision: "12345",
  incompatible: false,
  order,
  nextUnit: "db/11",
  defaultOrder: true,
};

describe("appStatus", () => {
  it.each<[string, Partial<AppStatusInput>, string | undefined, RegExp | undefined]>([
    ["invalid pause config beats everything, even no refresh", { pause: parsePauseAfterUnitRefresh("invalid"), state: "FALSE" }, "blocked", /pause-after-unit-refresh/],
    ["no refresh", { state: "FALSE" }, undefined, undefined],
    ["cannot tell yet", { state: "UNKNOWN" }, "maintenance", /Determining/],
    ["incompatible", { incompatible: true }, "blocked", /incompatible.*--revision 12345/],
    ["one unit", { order: ["db/0"], nextUnit: "db/0" }, "maintenance", /^Refreshing\. To roll back: juju refresh --revision 12345$/],
    ["first unit next", { nextUnit: "db/12" }, "maintenance", /unit 12 first/],
    ["pause first, second unit next", {}, "blocked", /units >= 12 are healthy, then run resume-refresh on unit 11/],
    ["pause first, third unit next", { nextUnit: "db/10" }, "maintenance", /pause-after-unit-refresh=all/],
    ["pause all, third unit next", { pause: parsePauseAfterUnitRefresh("all"), nextUnit: "db/10" }, "blocked", /units >= 11 .* unit 10/],
    ["pause none, second unit next", { pause: parsePauseAfterUnitRefresh("none") }, "maintenance", /To pause/],
    ["custom order", { defaultOrder: false }, "blocked", /prior units are healthy/],
    ["local charm", { originalCharmhubRevision: undefined, incompatible: true }, "blocked", /--path/],
  ])("%s", (_name, change, kind, message) => {
    const result = appStatus({ ...base, ...change });
    expect(result?.kind).toBe(kind);
    if (message !== undefined) expect(result?.message).toMatch(message);
  });

  it("fits juju status' 120 characters with 2-digit units and 5-digit revisions", () => {
    for (const pause of ["all", "first", "none", "invalid"] as const) {
      for (const nextUnit of order) {
        for (const incompatible of [true, false]) {
          for (const defaultOrder of [true, false]) {
            const message = appStatus({ ...base, pause: parsePauseAfterUnitRefresh(pause), nextUnit, incompatible, defaultOrder, appName: "app" })?.message ?? "";
            expect(message.length).toBeLessThanOrEqual(120);
          }
        }
      }
    }
  });
});

describe("lowerPriorityUnitStatus", () => {
  const unit = {
    workloadName: "PostgreSQL",
    installedWorkloadVersion: "16.8",
    workloadIsRunning: true,
    installedSnapRevision: "182",
    pinnedSnapRevision: "183",
    charmhubRevision: "613",
    charmVersion: "16/1.19.0",
  };
  it("marks an outdated snap and names the charm revision", () => {
    expect(lowerPriorityUnitStatus(unit)).toEqual({ kind: "active", message: "PostgreSQL 16.8 running; Snap revision 182 (outdated); Charm revision 613" });
  });
  it("is waiting when the workload is not running, and falls back to the charm version", () => {
    expect(lowerPriorityUnitStatus({ ...unit, workloadIsRunning: false, installedSnapRevision: "183", charmhubRevision: undefined, installedWorkloadVersion: undefined })).toEqual({
      kind: "waiting",
      message: "PostgreSQL; Snap revision 183; Charm version 16/1.19.0",
    });
  });
  it("says the snap is not installed instead of printing null", () => {
    expect(lowerPriorityUnitStatus({ ...unit, installedSnapRevision: null }).message).toContain("Snap not installed");
  });
  it("fits 120 characters at the 43-character workload limit", () => {
    const message = lowerPriorityUnitStatus({ ...unit, workloadName: "W".repeat(30), installedWorkloadVersion: "1".repeat(12), installedSnapRevision: "12345", pinnedSnapRevision: "12346", charmhubRevision: "12345" }).message;
    expect(message.length).toBeLessThanOrEqual(120);
  });
});

describe("precheckFailedStatus", () => {
  it("is blocked and carries the charm's message", () => {
    expect(precheckFailedStatus("replica lag too high")).toEqual({ kind: "blocked", message: expect.stringContaining("replica lag too high") as unknown });
  });
});
