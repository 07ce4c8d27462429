import { describe, expect, it } from "vitest";
import {
  incompatibleUnitStatus,
  lowerPriorityUnitStatus,
  precheckFailedUnitStatus,
  rolloutAppStatus,
  wrongContainerUnitStatus,
  type LowerPriorityInputs,
} from "./statuses.js";

const PIN = "sha256:68ed80aa00112233445566778899aabbccddeeff00112233445566778899aabb";

const base: LowerPriorityInputs = {
  workloadName: "PostgreSQL",
  pinnedWorkloadVersion: "16.8",
  installedDigest: PIN,
  pinnedDigest: PIN,
  charmhubRevision: "602",
  charmVersion: "16/1.19.0",
  restartPending: false,
  workloadIsRunning: true,
};

describe("lowerPriorityUnitStatus", () => {
  it.each<[string, Partial<LowerPriorityInputs>, string, string]>([
    ["running, pinned image", {}, "active", "PostgreSQL 16.8 running; Charm revision 602"],
    ["running, restart pending", { restartPending: true }, "active", "PostgreSQL 16.8 running (restart pending); Charm revision 602"],
    ["stopped, restart pending at the end", { restartPending: true, workloadIsRunning: false }, "waiting", "PostgreSQL 16.8; Charm revision 602 (restart pending)"],
    ["local charm", { charmhubRevision: undefined }, "active", "PostgreSQL 16.8 running; Charm version 16/1.19.0"],
    ["unexpected image", { installedDigest: "sha256:abcdef0123" }, "active", "PostgreSQL running; Charm revision 602; Unexpected container abcdef"],
    ["image not known yet", { installedDigest: undefined }, "active", "PostgreSQL running; Charm revision 602; Unable to check container"],
  ])("%s", (_name, overrides, kind, message) => {
    expect(lowerPriorityUnitStatus({ ...base, ...overrides })).toEqual({ kind, message });
  });
});

describe("app and unit statuses", () => {
  it("fit Juju's 120-character status line with two-digit unit numbers", () => {
    for (const value of [
      rolloutAppStatus("paused", 99, "app"),
      rolloutAppStatus("refreshing-last", 0, "app"),
      rolloutAppStatus("refreshing", 12, "postgresql-k8s"),
      wrongContainerUnitStatus(),
      incompatibleUnitStatus(),
    ]) {
      expect(value.message.length).toBeLessThanOrEqual(120);
    }
  });

  it("tells the user which units to check and what to run when paused", () => {
    const paused = rolloutAppStatus("paused", 2, "postgresql-k8s");
    expect(paused.kind).toBe("blocked");
    expect(paused.message).toContain(">=2");
    expect(paused.message).toContain("resume-refresh");
  });

  it("puts the rollback hint before the check's own message, which Juju may truncate", () => {
    const value = precheckFailedUnitStatus("Backup in progress");
    expect(value.kind).toBe("blocked");
    expect(value.message.indexOf("juju refresh")).toBeLessThan(value.message.indexOf("Backup in progress"));
  });
});
