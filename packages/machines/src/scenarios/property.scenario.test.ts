import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deployTestCharm, snaps, V1, V2, type TestWorld } from "./testCharm.js";

/** Something a user (or the world) does between two settles. */
type Step =
  | { readonly kind: "resume"; readonly unit: number; readonly checkHealth: boolean }
  | { readonly kind: "force"; readonly unit: number }
  | { readonly kind: "pause"; readonly value: "all" | "first" | "none" | "bogus" }
  | { readonly kind: "leader"; readonly unit: number }
  | { readonly kind: "health"; readonly unit: number; readonly healthy: boolean }
  | { readonly kind: "fail-hook"; readonly unit: number }
  | { readonly kind: "rollback" }
  | { readonly kind: "update-status" };

const unitIndex = fc.integer({ min: 0, max: 2 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("resume" as const), unit: unitIndex, checkHealth: fc.boolean() }),
  fc.record({ kind: fc.constant("force" as const), unit: unitIndex }),
  fc.record({ kind: fc.constant("pause" as const), value: fc.constantFrom("all" as const, "first" as const, "none" as const, "bogus" as const) }),
  fc.record({ kind: fc.constant("leader" as const), unit: unitIndex }),
  fc.record({ kind: fc.constant("health" as const), unit: unitIndex, healthy: fc.boolean() }),
  fc.record({ kind: fc.constant("fail-hook" as const), unit: unitIndex }),
  fc.constant({ kind: "rollback" as const }),
  fc.constant({ kind: "update-status" as const }),
);

async function apply(world: TestWorld, action: Step): Promise<void> {
  const unit = (n: number) => `db/${n}`;
  switch (action.kind) {
    case "resume":
      await world.sim.runAction(unit(action.unit), "resume-refresh", { "check-health-of-refreshed-units": action.checkHealth });
      break;
    case "force":
      await world.sim.runAction(unit(action.unit), "force-refresh-start", { "check-compatibility": false });
      break;
    case "pause":
      world.setPause(action.value);
      break;
    case "leader":
      world.sim.setLeader(unit(action.unit));
      break;
    case "health":
      if (action.healthy) world.unhealthy.delete(unit(action.unit));
      else world.unhealthy.add(unit(action.unit));
      break;
    case "fail-hook":
      world.sim.failNextHook(unit(action.unit));
      break;
    case "rollback":
      world.sim.refresh({ to: 602 });
      break;
    case "update-status":
      world.sim.fireUpdateStatus();
      break;
  }
  await world.sim.settle();
}

describe("machines refresh under random seeds, interleavings and user actions", () => {
  it("never violates an invariant, and ends on one revision once the user lets it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.array(step, { minLength: 1, maxLength: 8 }), async (seed, steps) => {
        const world = await deployTestCharm({ revisions: [V1, V2], units: 3, seed, pause: "first" });
        try {
          world.sim.refresh({ to: 613 });
          await world.sim.settle();
          for (const action of steps) await apply(world, action);
          // Let it finish: everyone healthy, no pause, a few timer ticks.
          world.unhealthy.clear();
          world.setPause("none");
          for (let tick = 0; tick < 3; tick += 1) {
            world.sim.fireUpdateStatus();
            await world.sim.settle();
          }
          expect(world.sim.violations).toEqual([]);
          const revisions = new Set(Object.values(snaps(world)));
          expect(revisions.size).toBe(1);
        } finally {
          await world.close();
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
