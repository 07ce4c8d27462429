import type { BuiltRevision } from "./charm-app.js";
import type { SimWorld } from "./world.js";

/** What the invariants remember between hooks. */
export interface InvariantState {
  /** `force-refresh-start` completed: the user took responsibility for an unsafe refresh. */
  forcedStart: boolean;
  /** Units whose workload has run at least once (a unit still installing is not "down"). */
  readonly everRunning: Set<string>;
  /** Units the scenario itself took down (eviction, failed hook) until their workload runs again. */
  readonly disrupted: Set<string>;
  /** The revision deployed first: the versions a rollback must keep reachable. */
  originalRevision: BuiltRevision | undefined;
}

/** One broken invariant. */
export interface InvariantProblem {
  readonly invariant: string;
  readonly explanation: string;
}

const ORIGINAL_CHARM_VERSION_KEY = "original_charm_version";

/**
 * The refresh's safety promises, checked after every hook from what a user could observe
 * (statuses, workloads, the peer relation):
 * - at most one unit's workload is down at a time, except units the scenario took down;
 * - no workload runs a version the compatibility rule refuses, unless the user forced it;
 * - while units run different charm revisions, the original versions are kept in the app
 *   databag, so a rollback knows where to go.
 */
export function checkInvariants(world: SimWorld, state: InvariantState): InvariantProblem[] {
  const problems: InvariantProblem[] = [];
  const rows = world.sim.status().units.filter((row) => row.agent !== "dying");

  const down: string[] = [];
  for (const row of rows) {
    if (world.workloadRunning(row.name)) {
      state.everRunning.add(row.name);
      state.disrupted.delete(row.name);
    } else if (state.everRunning.has(row.name) && !state.disrupted.has(row.name)) {
      down.push(row.name);
    }
  }
  if (down.length > 1) {
    problems.push({ invariant: "one unit down at a time", explanation: `the workloads of ${down.join(", ")} are down at the same time` });
  }

  const original = state.originalRevision;
  if (original !== undefined && !state.forcedStart) {
    for (const row of rows) {
      const version = world.runningVersion(row.name);
      if (version === undefined || version === original["workload-version"]) continue;
      const source = world.revisions.find((entry) => entry["workload-version"] === version);
      if (source !== undefined && !compatibleWith(original, source)) {
        problems.push({
          invariant: "no refused workload starts",
          explanation: `${row.name} runs workload ${version} of ${source.name}, which is incompatible with ${original.name}, without force-refresh-start`,
        });
      }
    }
  }

  const revisions = new Set(rows.map((row) => row.charmRevision));
  if (revisions.size > 1 && world.sim.appData()[ORIGINAL_CHARM_VERSION_KEY] === undefined) {
    problems.push({
      invariant: "original versions kept",
      explanation: `units run charm revisions ${[...revisions].sort().join(" and ")} but the app databag has no ${ORIGINAL_CHARM_VERSION_KEY}: a rollback would not know where to go`,
    });
  }
  return problems;
}

/** The sample charms' rule as seen from outside: same track and charm major, same workload major. */
function compatibleWith(original: BuiltRevision, target: BuiltRevision): boolean {
  const [oldTrack, oldRelease] = original["charm-version"].split("/");
  const [newTrack, newRelease] = target["charm-version"].split("/");
  const major = (text: string | undefined): string | undefined => text?.split(".")[0];
  return oldTrack === newTrack && major(oldRelease) === major(newRelease) && major(original["workload-version"]) === major(target["workload-version"]);
}
