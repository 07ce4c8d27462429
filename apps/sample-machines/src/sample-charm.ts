// Partly duplicated in apps/sample-k8s/src/sample-charm.ts on purpose (statuses, peer-relation handling), so each sample charm can be copied on its own.
import {
  composeAppStatus,
  composeUnitStatus,
  loadRefreshVersions,
  maintenance,
  PEER_RELATION_NOT_READY_STATUS,
  PeerRelationNotReady,
  PrecheckFailed,
  UnitTearingDown,
  waiting,
  type Status,
} from "@refresh/core";
import type { CharmHandler, CharmRun } from "@refresh/juju";
import { Machines, SnapdClient, snapdSocketPath, type MachinesCharmSpecific } from "@refresh/machines";
import { sampleDbCompatibility } from "./compatibility.js";
import { SampleDb } from "./sample-db.js";

/** The workload's name as users know it; the same one the build gives the action descriptions. */
export const WORKLOAD_NAME = "Sample DB";

/** What the refresh library needs to know about this charm. */
function refreshSpecifics(db: SampleDb, unit: string, snapd: SnapdClient): MachinesCharmSpecific {
  return {
    workloadName: WORKLOAD_NAME,
    charmName: "sample-machines",
    // Runs from `pre-refresh-check` and before the first unit refreshes its snap.
    async runPreRefreshChecksBeforeAnyUnitsRefreshed() {
      const unhealthy = await db.unhealthyMembers();
      if (unhealthy.length > 0) throw new PrecheckFailed(`${WORKLOAD_NAME} unhealthy on ${unhealthy.join(", ")}`);
    },
    // Keep the library's charm-version rule and add the workload's own.
    isCompatible: sampleDbCompatibility,
    // The library decides when this unit refreshes; this callback only does the snap work,
    // following the contract on MachinesCharmSpecific.refreshSnap.
    async refreshSnap({ snapName, snapRevision, refresh, snapd: guarded }) {
      const before = await snapd.installedRevision(snapName);
      await db.stop(unit);
      try {
        await guarded.refresh(snapName, snapRevision);
      } finally {
        // Record the revision even when snapd failed half way: the library must know what is installed.
        const after = await snapd.installedRevision(snapName);
        if (after !== null) await refresh.updateSnapRevision();
        // Nothing changed: put the old workload back before the event fails and Juju retries.
        if (after === before && before !== null && after !== snapRevision) await db.start(unit, await db.lastVersion(unit));
      }
    },
  };
}

/**
 * The charm's code for one Juju event. `src/charm.ts` hands it to `runCharm`; tests can call
 * it with the simulator's hook tools.
 */
export const handleEvent: CharmHandler = async (run) => {
  const { context, log } = run;
  const db = SampleDb.fromEnvironment(context.environment);
  const unit = context.unitName;
  const snapd = new SnapdClient({ socketPath: snapdSocketPath(context.environment) });

  // Create the refresh object first, before anything that installs, starts or changes the
  // workload: all the refresh work of the event (possibly refreshSnap) happens here.
  let refresh: Machines;
  try {
    refresh = await Machines.create(run, refreshSpecifics(db, unit, snapd));
  } catch (error) {
    if (error instanceof PeerRelationNotReady) {
      // Initial deployment, or a unit added during a refresh: a refresh may be in progress, so
      // install nothing (installing may take minutes, and the library must coordinate it),
      // start nothing, do nothing risky, and say so.
      await showPeerRelationNotReady(run);
      return;
    }
    if (error instanceof UnitTearingDown) {
      await db.stop(unit);
      return;
    }
    throw error;
  }

  const pinned = await loadRefreshVersions(context.charmDir);
  let installed = await snapd.installedRevision(pinned.snap?.name ?? "sample-db");
  // First install: while a refresh is in progress the library installs (through refreshSnap)
  // when this unit's turn comes, so the charm installs only outside a refresh.
  if (installed === null && !refresh.inProgress) {
    log.info(`installing ${pinned.snap?.name ?? "sample-db"} revision ${refresh.pinnedSnapRevision}`);
    await snapd.refresh(pinned.snap?.name ?? "sample-db", refresh.pinnedSnapRevision);
    await refresh.updateSnapRevision();
    installed = refresh.pinnedSnapRevision;
  }

  let member = await db.member(unit);
  // The charm only ever installs its own pinned revision, so that is the version it can vouch
  // for; a unit still on the old snap keeps running until the library refreshes it.
  if (member.runningVersion === undefined && installed === refresh.pinnedSnapRevision && refresh.workloadAllowedToStart) {
    log.info(`starting ${WORKLOAD_NAME} ${pinned.workload}`);
    await db.start(unit, pinned.workload);
    member = await db.member(unit);
  }
  const running = member.runningVersion !== undefined;
  if (running) await run.tools.applicationVersionSet(member.runningVersion ?? "");

  // Let the next unit refresh only once this one runs its pinned snap and is healthy.
  // Retried on every event until it holds, so a member that recovers lets the refresh go on.
  if (running && member.healthy && installed === refresh.pinnedSnapRevision && !refresh.nextUnitAllowedToRefresh) {
    await refresh.allowNextUnitToRefresh();
  }

  const own: Status[] = [];
  if (!running) own.push(maintenance(`${WORKLOAD_NAME} is not running yet`));
  else if (!member.healthy) own.push(waiting(`${WORKLOAD_NAME} reports unhealthy; the refresh waits until it recovers`));
  await setStatuses(run, refresh, own, running);
};

async function setStatuses(run: CharmRun, refresh: Machines, own: readonly Status[], workloadIsRunning: boolean): Promise<void> {
  const unitStatus = composeUnitStatus({
    higherPriority: refresh.unitStatusHigherPriority,
    charmStatuses: own,
    lowerPriority: refresh.unitStatusLowerPriority({ workloadIsRunning }),
  });
  const appStatus = (await run.tools.isLeader()) ? composeAppStatus({ higherPriority: refresh.appStatusHigherPriority, charmStatuses: [] }) : undefined;
  await setTogether(run, unitStatus, appStatus);
}

async function showPeerRelationNotReady(run: CharmRun): Promise<void> {
  await setTogether(run, PEER_RELATION_NOT_READY_STATUS, (await run.tools.isLeader()) ? PEER_RELATION_NOT_READY_STATUS : undefined);
}

/**
 * Sets the unit status and, on the leader, the application status at the same time: they are
 * separate targets, and each `status-set` is a process start the event waits for.
 */
async function setTogether(run: CharmRun, unit: Status, app: Status | undefined): Promise<void> {
  const results = await Promise.allSettled([
    run.tools.statusSet({ status: unit.kind, message: unit.message }),
    app === undefined ? undefined : run.tools.statusSet({ status: app.kind, message: app.message }, { application: true }),
  ]);
  // Both have ended either way; the first failure fails the event.
  for (const result of results) if (result.status === "rejected") throw result.reason;
}
