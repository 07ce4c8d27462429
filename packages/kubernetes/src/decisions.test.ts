import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decideRollout,
  effectivePausePolicy,
  gatingPolicy,
  rolloutAppStatusKind,
  workloadAllowedToStart,
  type PausePolicy,
  type RolloutInputs,
  type UnitView,
} from "./decisions.js";

const OLD = "app-old";
const NEW = "app-new";

/** Units highest first; `spec` is e.g. "2:new:healthy 1:old 0:old". */
function units(spec: string): UnitView[] {
  return spec.split(" ").map((part) => {
    const [number, revision, ...flags] = part.split(":");
    return {
      number: Number(number),
      revision: revision === "new" ? NEW : revision === "old" ? OLD : String(revision),
      tearingDown: flags.includes("down"),
      pauseConfig: flags.find((flag) => flag.startsWith("cfg="))?.slice(4),
      healthyOnRevision: flags.includes("healthy") ? NEW : flags.includes("healthy-old") ? OLD : undefined,
    };
  });
}

function rollout(overrides: Partial<RolloutInputs> & { units: UnitView[] }): ReturnType<typeof decideRollout> {
  return decideRollout({
    appRevision: NEW,
    refreshStarted: true,
    policy: "first",
    resume: undefined,
    ...overrides,
  });
}

const policyOf = (all: UnitView[], own: unknown): PausePolicy => gatingPolicy(effectivePausePolicy(all, own));

describe("effectivePausePolicy", () => {
  it("takes the most careful value among units on the newest revision", () => {
    expect(policyOf(units("2:new:cfg=none 1:new:cfg=all 0:old:cfg=none"), "none")).toBe("all");
  });

  it("ignores outdated units, which cannot see config changes", () => {
    expect(policyOf(units("2:new:cfg=none 1:old:cfg=all 0:old:cfg=all"), "all")).toBe("none");
  });

  it("treats an invalid value as stricter than all", () => {
    expect(policyOf(units("2:new:cfg=none 1:new:cfg=typo"), "none")).toBe("unknown");
  });

  it("also counts the revision of the highest unit not tearing down", () => {
    expect(policyOf(units("3:new:down:cfg=none 2:mid:cfg=all 1:old:cfg=none"), "none")).toBe("all");
  });

  it("skips units that have not published a value", () => {
    expect(policyOf(units("2:new 1:new:cfg=none"), "all")).toBe("none");
  });

  it("falls back to this unit's own value when no candidate published one", () => {
    expect(policyOf(units("2:new 1:old:cfg=none"), "all")).toBe("all");
    expect(policyOf([], "first")).toBe("first");
    expect(policyOf([], "First")).toBe("unknown");
  });
});

describe("decideRollout", () => {
  it("holds the first refreshed unit with policy first until resume-refresh", () => {
    const decision = rollout({ units: units("2:new:healthy 1:old 0:old") });
    expect(decision).toMatchObject({ next: 1, allow: false, targetPartition: 2, resume: undefined });
  });

  it("lets resume-refresh admit the second unit with policy first", () => {
    const decision = rollout({ units: units("2:new:healthy 1:old 0:old"), resume: { checkHealthOfRefreshedUnits: true } });
    expect(decision).toMatchObject({ next: 1, allow: true, targetPartition: 1 });
    expect(decision.resume).toEqual({ kind: "result", message: "Refresh resumed. Unit 1 is refreshing next" });
  });

  it("continues by itself with policy first once two units refreshed and are healthy", () => {
    expect(rollout({ units: units("2:new:healthy 1:new:healthy 0:old") })).toMatchObject({ next: 0, allow: true, targetPartition: 0 });
  });

  it("waits with policy first for the second unit's health", () => {
    expect(rollout({ units: units("2:new:healthy 1:new 0:old") })).toMatchObject({ next: 0, allow: false, targetPartition: 1 });
  });

  it("needs resume-refresh for every unit with policy all", () => {
    const paused = rollout({ units: units("2:new:healthy 1:new:healthy 0:old"), policy: "all" });
    expect(paused).toMatchObject({ allow: false, targetPartition: 1 });
    const resumed = rollout({
      units: units("2:new:healthy 1:new:healthy 0:old"),
      policy: "all",
      resume: { checkHealthOfRefreshedUnits: true },
    });
    expect(resumed).toMatchObject({ allow: true, targetPartition: 0, resume: { kind: "result", message: "Unit 0 is refreshing next" } });
  });

  it("gates an invalid policy like all", () => {
    expect(rollout({ units: units("2:new:healthy 1:new:healthy 0:old"), policy: "unknown" })).toMatchObject({ allow: false });
  });

  it("names the policy in force in its reasons, whatever this unit's own config says", () => {
    const ready = units("2:new:healthy 1:new:healthy 0:old");
    expect(rollout({ units: ready, policy: "none" }).reason).toBe('pause-after-unit-refresh is "none"');
    expect(rollout({ units: ready, policy: "first" }).reason).toBe('pause-after-unit-refresh is "first" and a second unit has already refreshed');
    expect(rollout({ units: ready, policy: "all" }).reason).toBe('waiting for resume-refresh (pause-after-unit-refresh is "all")');
    expect(rollout({ units: ready, policy: "unknown" }).reason).toMatch(/not "all", "first" or "none" on every up-to-date unit, so every unit waits as with "all"/);
  });

  it("follows health alone with policy none", () => {
    expect(rollout({ units: units("2:new:healthy 1:old 0:old"), policy: "none" })).toMatchObject({ allow: true, targetPartition: 1 });
    expect(rollout({ units: units("2:new 1:old 0:old"), policy: "none" })).toMatchObject({ allow: false, targetPartition: 2 });
  });

  it("refuses resume-refresh with policy none unless health checks are skipped, and still decides by health", () => {
    const decision = rollout({
      units: units("2:new:healthy 1:old 0:old"),
      policy: "none",
      resume: { checkHealthOfRefreshedUnits: true },
    });
    expect(decision.resume?.kind).toBe("fail");
    expect(decision.resume?.message).toContain("check-health-of-refreshed-units=false");
    expect(decision).toMatchObject({ allow: true, targetPartition: 1 });
  });

  it("never admits a unit before the refresh started, and names the highest unit", () => {
    const decision = rollout({ units: units("2:new:healthy 1:old 0:old"), refreshStarted: false, resume: { checkHealthOfRefreshedUnits: true } });
    expect(decision).toMatchObject({ allow: false, targetPartition: 2 });
    expect(decision.resume).toMatchObject({ kind: "fail" });
    expect(decision.resume?.message).toMatch(/^Unit 2 is unhealthy/);
  });

  it("does not count a health flag for an older revision", () => {
    const decision = rollout({ units: units("2:new:healthy-old 1:old 0:old"), policy: "none" });
    expect(decision).toMatchObject({ allow: false });
    expect(decision.reason).toContain("unit 2");
  });

  it("names the first unhealthy up-to-date unit in the resume-refresh failure", () => {
    const decision = rollout({ units: units("3:new:healthy 2:new 1:new 0:old"), resume: { checkHealthOfRefreshedUnits: true } });
    expect(decision.resume?.message).toMatch(/^Unit 2 is unhealthy/);
  });

  it("forces the next unit with check-health-of-refreshed-units=false, even before the refresh started", () => {
    const decision = rollout({ units: units("2:new 1:old 0:old"), refreshStarted: false, resume: { checkHealthOfRefreshedUnits: false } });
    expect(decision).toMatchObject({ next: 1, allow: true, targetPartition: 1 });
    expect(decision.resume).toEqual({ kind: "result", log: "Not checking the health of the refreshed units", message: "Attempting to refresh unit 1" });
  });

  it("skips tearing-down units when choosing the next unit and the target", () => {
    const decision = rollout({ units: units("3:old:down 2:new:healthy 1:new:healthy 0:old") });
    expect(decision).toMatchObject({ next: 0, allow: true, targetPartition: 0 });
    const held = rollout({ units: units("4:old:down 3:new:healthy 2:old 1:old") });
    expect(held).toMatchObject({ next: 2, allow: false, targetPartition: 3 });
  });

  it("holds at the second-lowest unit when only a tearing-down pod is outdated", () => {
    const decision = rollout({ units: units("3:old:down 2:new:healthy 1:new 0:new"), policy: "all" });
    expect(decision).toMatchObject({ next: 0, allow: false, targetPartition: 1 });
  });

  it("has nothing to admit when every unit tears down", () => {
    expect(rollout({ units: units("1:new:down 0:old:down") })).toMatchObject({ next: undefined, targetPartition: undefined });
  });

  it("keeps the invariants for any state: at most one outdated unit admitted, never above the highest remaining unit", () => {
    const unitArbitrary = fc.record({
      revision: fc.constantFrom(OLD, NEW, "app-third"),
      tearingDown: fc.boolean(),
      healthyOnRevision: fc.constantFrom(undefined, OLD, NEW),
    });
    fc.assert(
      fc.property(
        fc.array(unitArbitrary, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom<PausePolicy>("none", "first", "all", "unknown"),
        fc.constantFrom(undefined, { checkHealthOfRefreshedUnits: true }, { checkHealthOfRefreshedUnits: false }),
        (raw, refreshStarted, policy, resume) => {
          const all: UnitView[] = raw.map((unit, index) => ({ ...unit, number: raw.length - 1 - index, pauseConfig: undefined }));
          const decision = decideRollout({ units: all, appRevision: NEW, refreshStarted, policy, resume });
          const remaining = all.filter((unit) => !unit.tearingDown);
          if (remaining.length === 0) {
            expect(decision.targetPartition).toBeUndefined();
            return;
          }
          const target = decision.targetPartition as number;
          expect(target).toBeLessThanOrEqual((remaining[0] as UnitView).number);
          expect(target).toBeGreaterThanOrEqual(decision.next as number);
          // Units at or above the target that are not up to date: at most one may be admitted.
          const admittedOutdated = remaining.filter((unit) => unit.number >= target && unit.revision !== NEW);
          expect(admittedOutdated.length).toBeLessThanOrEqual(1);
          if (decision.allow && !(resume !== undefined && !resume.checkHealthOfRefreshedUnits)) {
            expect(refreshStarted).toBe(true);
            for (const unit of remaining.filter((candidate) => candidate.number > (decision.next as number))) {
              expect(unit.healthyOnRevision).toBe(NEW);
            }
          }
          if (resume !== undefined) expect(decision.resume).toBeDefined();
        },
      ),
    );
  });
});

describe("rolloutAppStatusKind", () => {
  it.each<[string, number, PausePolicy, string]>([
    ["2:new 1:old 0:old", 0, "all", "refreshing-last"],
    ["2:new 1:old 0:old", 2, "all", "paused"],
    ["2:new 1:old 0:old", 1, "unknown", "paused"],
    ["2:new 1:old 0:old", 2, "first", "paused"],
    ["2:new 1:old 0:old", 1, "first", "refreshing"],
    ["2:new 1:old 0:old", 2, "none", "refreshing"],
    ["3:old:down 2:new 1:old 0:old", 2, "first", "paused"],
  ])("units %s, partition %i, policy %s: %s", (spec, partition, policy, expected) => {
    expect(rolloutAppStatusKind({ units: units(spec), partition, policy })).toBe(expected);
  });
});

describe("workloadAllowedToStart", () => {
  const base = { inProgress: true, unitRevision: NEW, startedRevisions: new Set<string>(), runsOriginalVersions: false };

  it("allows any unit when no refresh is in progress", () => {
    expect(workloadAllowedToStart({ ...base, inProgress: false })).toBe(true);
  });

  it("blocks a refreshed unit until the refresh started for its own revision", () => {
    expect(workloadAllowedToStart(base)).toBe(false);
    expect(workloadAllowedToStart({ ...base, startedRevisions: new Set([OLD]) })).toBe(false);
    expect(workloadAllowedToStart({ ...base, startedRevisions: new Set([NEW]) })).toBe(true);
  });

  it("always allows a unit that still runs the original versions", () => {
    expect(workloadAllowedToStart({ ...base, unitRevision: OLD, runsOriginalVersions: true })).toBe(true);
  });
});
