// The smallest machine charm that does a refresh: what every event of such a charm must load
// before it can do anything. bundle-cost.bench.ts bundles it and times loading it.
import { composeAppStatus, composeUnitStatus, loadRefreshVersions, PeerRelationNotReady, UnitTearingDown } from "@refresh/core";
import { runCharm, type CharmHandler } from "@refresh/juju";
import { Machines, SnapdClient, snapdSocketPath } from "../index.js";

/** One event of the minimal charm; exported (not run) so that loading the bundle measures only its start-up. */
export const handleEvent: CharmHandler = async (run) => {
  const snapd = new SnapdClient({ socketPath: snapdSocketPath(run.context.environment) });
  let refresh: Machines;
  try {
    refresh = await Machines.create(run, {
      workloadName: "Minimal DB",
      charmName: "minimal-machines",
      async runPreRefreshChecksBeforeAnyUnitsRefreshed() {},
      async refreshSnap({ snapName, snapRevision, refresh: current, snapd: guarded }) {
        try {
          await guarded.refresh(snapName, snapRevision);
        } finally {
          if ((await snapd.installedRevision(snapName)) !== null) await current.updateSnapRevision();
        }
      },
    });
  } catch (error) {
    if (error instanceof PeerRelationNotReady || error instanceof UnitTearingDown) return;
    throw error;
  }
  await loadRefreshVersions(run.context.charmDir);
  const unit = composeUnitStatus({
    higherPriority: refresh.unitStatusHigherPriority,
    charmStatuses: [],
    lowerPriority: refresh.unitStatusLowerPriority({ workloadIsRunning: true }),
  });
  const app = composeAppStatus({ higherPriority: refresh.appStatusHigherPriority, charmStatuses: [] });
  const leader = await run.tools.isLeader();
  // Separate targets, each a process start: set together, as the sample charms do.
  const results = await Promise.allSettled([
    run.tools.statusSet({ status: unit.kind, message: unit.message }),
    leader ? run.tools.statusSet({ status: app.kind, message: app.message }, { application: true }) : undefined,
  ]);
  for (const result of results) if (result.status === "rejected") throw result.reason;
};

/** What a deployed charm's entry calls with {@link handleEvent}. */
export { runCharm };
