// The smallest charm that does a Kubernetes refresh: what every event of such a charm must
// load before it can do anything. bundle-cost.bench.ts bundles it and times loading it.
import { composeAppStatus, composeUnitStatus, loadRefreshVersions, PeerRelationNotReady, UnitTearingDown } from "@refresh/core";
import { runCharm, type CharmHandler } from "@refresh/juju";
import { Kubernetes, KubernetesJujuAppNotTrusted } from "../index.js";

/** One event of the minimal charm; exported (not run) so that loading the bundle measures only its start-up. */
export const handleEvent: CharmHandler = async (run) => {
  let refresh: Kubernetes;
  try {
    refresh = await Kubernetes.create(run, {
      workloadName: "Minimal DB",
      charmName: "minimal-k8s",
      ociResourceName: "minimal-db-image",
      runPreRefreshChecksAfterFirstUnitRefreshed() {},
    });
  } catch (error) {
    if (error instanceof PeerRelationNotReady || error instanceof UnitTearingDown || error instanceof KubernetesJujuAppNotTrusted) return;
    throw error;
  }
  await loadRefreshVersions(run.context.charmDir);
  const unit = composeUnitStatus({
    higherPriority: refresh.unitStatusHigherPriority,
    charmStatuses: [],
    lowerPriority: refresh.unitStatusLowerPriority({ workloadIsRunning: refresh.workloadAllowedToStart }),
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
