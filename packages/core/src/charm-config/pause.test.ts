import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidPauseAfterUnitRefresh } from "../errors.js";
import { decodeKubernetesUnitDatabag } from "../protocol/kubernetes-databag.js";
import { UnitKey } from "../protocol/names.js";
import { JUJU_STATUS_MESSAGE_LIMIT } from "../status.js";
import {
  describePausePolicy,
  effectivePauseAfterUnitRefresh,
  MALFORMED_PAUSE_VALUE,
  parsePauseAfterUnitRefresh,
  publishedPauseValue,
  type PublishedPauseValue,
} from "./pause.js";

describe("parsePauseAfterUnitRefresh", () => {
  it.each(["all", "first", "none"] as const)("accepts %s as is", (value) => {
    expect(parsePauseAfterUnitRefresh(value)).toEqual({ policy: value, invalid: undefined });
  });

  it.each([["All"], [" first"], [""], ["never"], [3], [undefined]])("treats %j as all and reports it", (value) => {
    const setting = parsePauseAfterUnitRefresh(value);
    expect(setting.policy).toBe("all");
    expect(setting.invalid).toBeInstanceOf(InvalidPauseAfterUnitRefresh);
    expect(setting.invalid?.code).toBe("INVALID_PAUSE_AFTER_UNIT_REFRESH");
    expect(setting.invalid?.status.kind).toBe("blocked");
    expect(setting.invalid?.status.message).toMatch(/"all", "first" or "none"/);
    expect(setting.invalid?.status.message.length).toBeLessThanOrEqual(JUJU_STATUS_MESSAGE_LIMIT);
    expect(setting.invalid?.message).toMatch(/juju config/);
  });

  it("says which value it rejected", () => {
    expect(parsePauseAfterUnitRefresh("All").invalid?.message).toContain('"All"');
    expect(parsePauseAfterUnitRefresh(undefined).invalid?.message).toMatch(/no pause-after-unit-refresh config option/);
  });
});

describe("effectivePauseAfterUnitRefresh", () => {
  it("picks the most cautious published value", () => {
    expect(effectivePauseAfterUnitRefresh(["none", "first", "none"], "none").policy).toBe("first");
    expect(effectivePauseAfterUnitRefresh(["first", "all"], "none").policy).toBe("all");
    expect(effectivePauseAfterUnitRefresh(["none"], "all").policy).toBe("none");
  });

  it("lets an invalid or unreadable value win, as all, and keeps the finding", () => {
    const invalid = effectivePauseAfterUnitRefresh(["all", "bogus", "none"], "first");
    expect(invalid.policy).toBe("all");
    expect(invalid.invalid?.value).toBe("bogus");
    const unreadable = effectivePauseAfterUnitRefresh(["none", MALFORMED_PAUSE_VALUE], "none");
    expect(unreadable.policy).toBe("all");
    expect(unreadable.invalid).toBeInstanceOf(InvalidPauseAfterUnitRefresh);
  });

  it("skips units that have not published, and falls back to this unit's own value when none has", () => {
    expect(effectivePauseAfterUnitRefresh([undefined, "none", undefined], "all")).toEqual({ policy: "none", invalid: undefined });
    expect(effectivePauseAfterUnitRefresh([undefined, undefined], "first")).toEqual({ policy: "first", invalid: undefined });
    expect(effectivePauseAfterUnitRefresh([], "nope").invalid?.value).toBe("nope");
  });

  it("is never less cautious than any single published value, whatever the order", () => {
    const value = fc.oneof(
      fc.constantFrom<PublishedPauseValue>("all", "first", "none", undefined, MALFORMED_PAUSE_VALUE),
      fc.string(),
    );
    const rank = (setting: { policy: string; invalid: unknown }) =>
      setting.invalid !== undefined ? 3 : ({ none: 0, first: 1, all: 2 } as Record<string, number>)[setting.policy] ?? 3;
    fc.assert(
      fc.property(fc.array(value), fc.string(), (published, own) => {
        const effective = effectivePauseAfterUnitRefresh(published, own);
        const reversed = effectivePauseAfterUnitRefresh([...published].reverse(), own);
        expect(rank(effective)).toBe(rank(reversed));
        for (const single of published) {
          if (single === undefined) continue;
          const alone = effectivePauseAfterUnitRefresh([single], own);
          expect(rank(effective)).toBeGreaterThanOrEqual(rank(alone));
        }
      }),
    );
  });

  it("reads the published values out of Kubernetes unit databags", () => {
    const databags = [
      decodeKubernetesUnitDatabag({ [UnitKey.pauseAfterUnitRefreshConfig]: '"none"' }, "db/2"),
      decodeKubernetesUnitDatabag({}, "db/1"),
      decodeKubernetesUnitDatabag({ [UnitKey.pauseAfterUnitRefreshConfig]: "none" }, "db/0"),
    ];
    expect(databags.map(publishedPauseValue)).toEqual(["none", undefined, MALFORMED_PAUSE_VALUE]);
    expect(effectivePauseAfterUnitRefresh(databags.map(publishedPauseValue), "none").policy).toBe("all");
  });
});

describe("describePausePolicy", () => {
  it("tells the user where the refresh will stop", () => {
    expect(describePausePolicy(parsePauseAfterUnitRefresh("none"))).toMatch(/not pause/);
    expect(describePausePolicy(parsePauseAfterUnitRefresh("first"))).toMatch(/first unit/);
    expect(describePausePolicy(parsePauseAfterUnitRefresh("garbage"))).toMatch(/each unit/);
  });
});
