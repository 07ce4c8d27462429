import { describe, expect, it } from "vitest";
import { active, blocked, composeAppStatus, composeUnitStatus, maintenance, waiting } from "./status.js";

describe("composeUnitStatus", () => {
  const lower = active("PostgreSQL 16.8 running; Charm revision 602");

  it("lets the library's higher-priority status beat every charm status", () => {
    const higher = blocked("Rollback with `juju refresh`. Pre-refresh check failed: replica lag");
    expect(composeUnitStatus({ higherPriority: higher, charmStatuses: [blocked("no storage")], lowerPriority: lower })).toBe(higher);
  });

  it("otherwise shows the most severe charm status", () => {
    const charm = [active("Primary"), waiting("waiting for leader"), maintenance("restarting"), waiting("other")];
    expect(composeUnitStatus({ higherPriority: undefined, charmStatuses: charm, lowerPriority: lower })).toEqual(maintenance("restarting"));
  });

  it("shows the lower-priority status only when the charm has nothing to say", () => {
    expect(composeUnitStatus({ higherPriority: undefined, charmStatuses: [active()], lowerPriority: lower })).toBe(lower);
    expect(composeUnitStatus({ higherPriority: undefined, charmStatuses: [], lowerPriority: lower })).toBe(lower);
    expect(composeUnitStatus({ higherPriority: undefined, charmStatuses: [active("Primary")], lowerPriority: lower })).toEqual(
      active("Primary"),
    );
    expect(composeUnitStatus({ higherPriority: undefined, charmStatuses: [], lowerPriority: undefined })).toEqual(active());
  });

  it("prefers a status with a message among equally severe ones", () => {
    expect(composeAppStatus({ higherPriority: undefined, charmStatuses: [waiting(""), waiting("for database")] })).toEqual(
      waiting("for database"),
    );
  });
});
