import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openWorld, type SimWorld } from "./__tests__/sim-world.js";

// Random seeds (the simulator's hook interleaving) AND random interleavings of what users and
// the cluster do during a refresh, with KubernetesInvariants after every hook. Commands land
// mid-flight: after each, the model runs only a random number of scheduler steps.

type Command =
  | { readonly kind: "resume"; readonly override: boolean }
  | { readonly kind: "force"; readonly skip: "check-compatibility" | "run-pre-refresh-checks" | "check-workload-container" }
  | { readonly kind: "pause"; readonly value: "all" | "first" | "none" }
  | { readonly kind: "evict"; readonly unit: number }
  | { readonly kind: "leader"; readonly unit: number }
  | { readonly kind: "health"; readonly unit: number; readonly healthy: boolean }
  | { readonly kind: "fail-hook"; readonly unit: number }
  | { readonly kind: "precheck"; readonly failing: boolean }
  | { readonly kind: "rollback" };

const UNITS = 3;
const unit = fc.integer({ min: 0, max: UNITS - 1 });

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant("resume" as const), override: fc.boolean() }),
  fc.record({ kind: fc.constant("force" as const), skip: fc.constantFrom("check-compatibility" as const, "run-pre-refresh-checks" as const, "check-workload-container" as const) }),
  fc.record({ kind: fc.constant("pause" as const), value: fc.constantFrom("all" as const, "first" as const, "none" as const) }),
  fc.record({ kind: fc.constant("evict" as const), unit }),
  fc.record({ kind: fc.constant("leader" as const), unit }),
  fc.record({ kind: fc.constant("health" as const), unit, healthy: fc.boolean() }),
  fc.record({ kind: fc.constant("fail-hook" as const), unit }),
  fc.record({ kind: fc.constant("precheck" as const), failing: fc.boolean() }),
  fc.record({ kind: fc.constant("rollback" as const) }),
);

function alive(w: SimWorld, number: number): string | undefined {
  const name = `db/${number}`;
  return w.sim.units.includes(name) ? name : undefined;
}

async function apply(w: SimWorld, step: Command): Promise<void> {
  const { sim } = w;
  switch (step.kind) {
    case "resume":
      await w.runAction("leader", "resume-refresh", step.override ? { "check-health-of-refreshed-units": false } : {});
      return;
    case "force": {
      const highest = sim.units.at(-1);
      if (highest !== undefined) await w.runAction(highest, "force-refresh-start", { [step.skip]: false });
      return;
    }
    case "pause":
      sim.config({ "pause-after-unit-refresh": step.value });
      return;
    case "evict": {
      const target = alive(w, step.unit);
      if (target !== undefined) w.evict(target);
      return;
    }
    case "leader": {
      const target = alive(w, step.unit);
      if (target !== undefined) sim.setLeader(target);
      return;
    }
    case "health": {
      const target = alive(w, step.unit);
      if (target !== undefined) sim.setWorkloadHealth(target, step.healthy);
      return;
    }
    case "fail-hook": {
      const target = alive(w, step.unit);
      if (target !== undefined) sim.failNextHook(target);
      return;
    }
    case "precheck":
      await w.setPrecheckFailure(step.failing ? "Backup in progress" : undefined);
      return;
    case "rollback":
      // Back to the original while 11 rolls out; forward again after a rollback.
      sim.refresh({ to: sim.appCharmRevision === 11 ? 10 : 11 });
      return;
  }
}

/** Heals everything the commands broke, then resumes until every unit runs the app's revision. */
async function recover(w: SimWorld): Promise<void> {
  const { sim } = w;
  for (const name of sim.units) sim.setWorkloadHealth(name, true);
  await w.setPrecheckFailure(undefined);
  for (let round = 0; round < 8; round++) {
    sim.fireUpdateStatus();
    await sim.settle();
    if (sim.units.every((name) => sim.charmRevision(name) === sim.appCharmRevision)) return;
    await w.runAction("leader", "resume-refresh");
  }
}

describe("the invariants hold for any seed and any interleaving of user actions", () => {
  it("refresh, then random resumes, forces, pause changes, evictions, leader changes, health flips, failing hooks and rollbacks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom("all", "first", "none"),
        fc.array(fc.tuple(command, fc.integer({ min: 0, max: 12 })), { minLength: 1, maxLength: 8 }),
        async (seed, pause, commands) => {
          const w = await openWorld({ seed, pause, units: UNITS });
          try {
            w.sim.refresh({ to: 11 });
            for (const [step, schedulerSteps] of commands) {
              await apply(w, step);
              for (let count = 0; count < schedulerSteps; count++) await w.sim.step();
            }
            await recover(w);
            expect(w.sim.violations).toEqual([]);
            expect(w.sim.units.map((name) => w.sim.charmRevision(name))).toEqual(w.sim.units.map(() => w.sim.appCharmRevision));
          } finally {
            await w.dispose();
          }
        },
      ),
      { numRuns: 12, seed: 20_240_611 },
    );
  }, 300_000);
});
