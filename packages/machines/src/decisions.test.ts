import fc from "fast-check";
import { charmhubRevision, parsePauseAfterUnitRefresh } from "@refresh/core";
import { describe, expect, it } from "vitest";
import {
  applyFixedOrder,
  defaultRefreshOrder,
  determineInProgress,
  firstUnhealthyBefore,
  freshness,
  isUpToDate,
  nextUnitToRefresh,
  refreshOrderProblem,
  resumeRequired,
  type FreshnessBasis,
  type PeerUnit,
  type PublishedUnitState,
} from "./decisions.js";

const REV = "ch:amd64/noble/db-613";
const basis: FreshnessBasis = { self: "db/0", rawCharmRevision: REV, secondToLastRefresh: { charmRevision: "ch:amd64/noble/db-602", timeOfRefresh: 100 } };

function unit(name: string, published: Partial<PublishedUnitState> = {}): PeerUnit {
  return {
    name,
    published: {
      installedSnapRevision: "183",
      nextUnitAllowedToRefresh: true,
      refreshStarted: true,
      lastRefreshToUpToDateCharmCode: { charmRevision: REV, timeOfRefresh: 200 },
      refreshOrder: undefined,
      ...published,
    },
  };
}

describe("freshness", () => {
  it.each<[string, PeerUnit, FreshnessBasis, string]>([
    ["this unit is always fresh", unit("db/0", { lastRefreshToUpToDateCharmCode: undefined }), basis, "TRUE"],
    ["a peer on another charm revision is stale", unit("db/1", { lastRefreshToUpToDateCharmCode: { charmRevision: "x", timeOfRefresh: 900 } }), basis, "FALSE"],
    ["a peer that published no history is stale", unit("db/1", { lastRefreshToUpToDateCharmCode: undefined }), basis, "FALSE"],
    ["a new unit cannot tell", unit("db/1"), { ...basis, secondToLastRefresh: undefined }, "UNKNOWN"],
    ["a peer refreshed after our previous refresh is fresh", unit("db/1"), basis, "TRUE"],
    ["a peer whose latest refresh is our previous one is stale", unit("db/1", { lastRefreshToUpToDateCharmCode: { charmRevision: REV, timeOfRefresh: 100 } }), basis, "FALSE"],
  ])("%s", (_name, peer, freshnessBasis, expected) => {
    expect(freshness(peer, freshnessBasis)).toBe(expected);
  });
});

describe("isUpToDate", () => {
  it.each<[string, PeerUnit, FreshnessBasis, boolean]>([
    ["a fresh peer on the pin", unit("db/1"), basis, true],
    ["a fresh peer on another revision", unit("db/1", { installedSnapRevision: "182" }), basis, false],
    ["a peer without the snap", unit("db/1", { installedSnapRevision: undefined }), basis, false],
    ["a peer on the pin with a stale databag", unit("db/1", { lastRefreshToUpToDateCharmCode: { charmRevision: REV, timeOfRefresh: 100 } }), basis, false],
    ["a peer on the pin that a new unit cannot judge yet is trusted", unit("db/1"), { ...basis, secondToLastRefresh: undefined }, true],
  ])("%s", (_name, peer, freshnessBasis, expected) => {
    expect(isUpToDate(peer, "183", freshnessBasis)).toBe(expected);
  });
});

describe("determineInProgress", () => {
  it.each<[string, PeerUnit[], string]>([
    ["every unit on the pin, fresh", [unit("db/0"), unit("db/1")], "FALSE"],
    ["a unit on another revision, even if stale", [unit("db/0"), unit("db/1", { installedSnapRevision: "182", lastRefreshToUpToDateCharmCode: undefined })], "TRUE"],
    ["a unit on the pin with a stale databag (crashed after its snap refresh)", [unit("db/0"), unit("db/1", { lastRefreshToUpToDateCharmCode: { charmRevision: "old", timeOfRefresh: 1 } })], "UNKNOWN"],
    ["units without a snap are skipped", [unit("db/0"), unit("db/2", { installedSnapRevision: undefined, lastRefreshToUpToDateCharmCode: undefined })], "FALSE"],
    ["TRUE wins over UNKNOWN whatever the order", [unit("db/1", { lastRefreshToUpToDateCharmCode: undefined }), unit("db/2", { installedSnapRevision: "182" })], "TRUE"],
  ])("%s", (_name, units, expected) => {
    expect(determineInProgress(units, "183", basis)).toBe(expected);
  });
});

describe("refresh order", () => {
  it("puts the highest unit number first, numerically", () => {
    expect(defaultRefreshOrder(["db/9", "db/10", "db/2"])).toEqual(["db/10", "db/9", "db/2"]);
  });
  it("keeps a fixed order, drops departed units and puts new units first", () => {
    expect(applyFixedOrder(["db/1", "db/3", "db/0"], ["db/0", "db/1", "db/4", "db/5"])).toEqual(["db/5", "db/4", "db/1", "db/0"]);
  });
  it("rejects charm orders that are not a permutation of the units", () => {
    expect(refreshOrderProblem(["db/1", "db/0"], ["db/0", "db/1"])).toBeUndefined();
    expect(refreshOrderProblem(["db/1"], ["db/0", "db/1"])).toMatch(/leaves out db\/0/);
    expect(refreshOrderProblem(["db/1", "db/1"], ["db/0", "db/1"])).toMatch(/twice/);
    expect(refreshOrderProblem(["db/7", "db/1", "db/0"], ["db/0", "db/1"])).toMatch(/db\/7/);
  });
  it("applyFixedOrder always yields each present unit exactly once", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(30)), fc.uniqueArray(fc.nat(30)), (fixed, present) => {
        const names = (numbers: number[]) => numbers.map((n) => `db/${n}`);
        const result = applyFixedOrder(names(fixed), names(present));
        expect([...result].sort()).toEqual([...names(present)].sort());
      }),
    );
  });
});

describe("next unit and health of previous units", () => {
  const order = [unit("db/2"), unit("db/1", { installedSnapRevision: "182" }), unit("db/0", { installedSnapRevision: "182" })];
  it("is the first unit not on the pin", () => {
    expect(nextUnitToRefresh(order, "183", basis)?.name).toBe("db/1");
  });
  it("counts a unit without a snap, or with a stale databag, as not refreshed", () => {
    expect(nextUnitToRefresh([unit("db/3", { installedSnapRevision: undefined }), ...order], "183", basis)?.name).toBe("db/3");
    expect(nextUnitToRefresh([unit("db/2", { lastRefreshToUpToDateCharmCode: undefined }), ...order.slice(1)], "183", basis)?.name).toBe("db/2");
  });
  it("finds the first previous unit that is not healthy", () => {
    expect(firstUnhealthyBefore(order, 1, "183", basis)).toBeUndefined();
    expect(firstUnhealthyBefore([unit("db/2", { nextUnitAllowedToRefresh: false }), ...order.slice(1)], 1, "183", basis)?.name).toBe("db/2");
    expect(firstUnhealthyBefore(order, 2, "183", basis)?.name).toBe("db/1");
    expect(firstUnhealthyBefore(order, 0, "183", basis)).toBeUndefined();
  });
});

describe("pause-after-unit-refresh", () => {
  it("accepts exactly all, first and none", () => {
    // Core parses the option; the refresh sees an invalid value as `all` plus a finding.
    const parsed = ["all", "first", "none", "ALL", "", 3, undefined].map(parsePauseAfterUnitRefresh);
    expect(parsed.map((setting) => (setting.invalid === undefined ? setting.policy : "invalid"))).toEqual(["all", "first", "none", "invalid", "invalid", "invalid", "invalid"]);
  });
  it.each([
    ["none", [false, false, false, false]],
    ["first", [false, true, false, false]],
    ["all", [false, true, true, true]],
    ["invalid", [false, true, true, true]],
  ] as const)("pause %s: resume needed at indexes 0..3 = %j", (pause, expected) => {
    const setting = parsePauseAfterUnitRefresh(pause);
    expect([0, 1, 2, 3].map((index) => resumeRequired(setting, index))).toEqual(expected);
  });
});

describe("charmhubRevision (core's, as machines uses it)", () => {
  it("reads the number after the last dash of a Charmhub charm, and nothing for a local one", () => {
    expect(charmhubRevision("ch:amd64/jammy/postgresql-k8s-602")).toBe("602");
    expect(charmhubRevision("local:jammy/postgresql-3")).toBeUndefined();
  });
});
