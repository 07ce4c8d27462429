// Partly duplicated in apps/sample-machines/src/sample-charm.ts on purpose (statuses, peer-relation handling), so each sample charm can be copied on its own.
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
import { Kubernetes, KubernetesJujuAppNotTrusted, type CharmSpecificKubernetes } from "@refresh/kubernetes";
import { sampleDbCompatibility } from "./compatibility.js";
import { SampleDb } from "./sample-db.js";

/** The workload's name as users know it; the same one the build gives the action descriptions. */
export const WORKLOAD_NAME = "Sample DB";

/** What the refresh library needs to know about this charm. */
function refreshSpecifics(db: SampleDb): CharmSpecificKubernetes {
  return {
    workloadName: WORKLOAD_NAME,
    charmName: "sample-k8s",
    ociResourceName: "sample-db-image",
    // Runs on the first refreshed unit (its workload stopped) and from `pre-refresh-check`:
    // only checks that stay true while one member is down belong here.
    async runPreRefreshChecksAfterFirstUnitRefreshed() {
      const unhealthy = await db.unhealthyMembers();
      if (unhealthy.length > 0) throw new PrecheckFailed(`${WORKLOAD_NAME} unhealthy on ${unhealthy.join(", ")}`);
    },
    // Keep the library's charm-version rule and add the workload's own.
    isCompatible: sampleDbCompatibility,
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

  // The pod is going away (refresh, eviction, scale-down): its workload container goes with it.
  const podGoingAway = context.event.kind === "hook" && (context.event.name === "stop" || context.event.name === "remove");
  if (podGoingAway) await db.stop(unit);

  // Create the refresh object first, before anything that starts or changes the workload:
  // all the refresh work of the event happens here.
  let refresh: Kubernetes;
  try {
    refresh = await Kubernetes.create(run, refreshSpecifics(db));
  } catch (error) {
    if (error instanceof PeerRelationNotReady) {
      // A refresh may be in progress and this unit cannot know yet whether its workload may
      // start: start nothing, do nothing risky, and say so.
      await showPeerRelationNotReady(run);
      return;
    }
    // Being removed: nothing left to do. Not trusted: the library already set a blocked app status.
    if (error instanceof UnitTearingDown || error instanceof KubernetesJujuAppNotTrusted) return;
    throw error;
  }

  // Nothing may start on a pod that is being replaced; its successor decides in its own hooks.
  if (podGoingAway) return;

  const pinned = await loadRefreshVersions(context.charmDir);
  let member = await db.member(unit);
  // On Kubernetes the highest unit refreshes whatever the charm says; this is the one place
  // that keeps an unsafe refresh from touching its data.
  if (member.runningVersion === undefined && refresh.workloadAllowedToStart) {
    log.info(`starting ${WORKLOAD_NAME} ${pinned.workload}`);
    await db.start(unit, pinned.workload);
    member = await db.member(unit);
  }
  const running = member.runningVersion !== undefined;
  // No application-version-set here: on Kubernetes the library sets it from the pod's image.

  // Let the next unit refresh only once this one runs and is healthy. Retried on every
  // event until it holds, so a member that recovers lets the refresh go on by itself.
  if (running && member.healthy && refresh.workloadAllowedToStart && !refresh.nextUnitAllowedToRefresh) {
    await refresh.allowNextUnitToRefresh();
  }

  const own: Status[] = [];
  if (!running) own.push(maintenance(`${WORKLOAD_NAME} is not running yet`));
  else if (!member.healthy) own.push(waiting(`${WORKLOAD_NAME} reports unhealthy; the refresh waits until it recovers`));
  await setStatuses(run, refresh, own, running);
};

async function setStatuses(run: CharmRun, refresh: Kubernetes, own: readonly Status[], workloadIsRunning: boolean): Promise<void> {
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
