// A deliberately broken charm, for refresh-sim's tests only: it starts its workload without
// asking `workloadAllowedToStart`, the one mistake on Kubernetes that lets an unsafe refresh
// touch data. refresh-sim must report it as an invariant violation and exit 1.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { active, loadRefreshVersions, PeerRelationNotReady, UnitTearingDown } from "@refresh/core";
import { runCharm } from "@refresh/juju";
import { Kubernetes } from "@refresh/kubernetes";

void runCharm(async (run) => {
  const { context } = run;
  const directory = context.environment["SAMPLE_DB_DIR"] ?? "/var/lib/sample-db";
  const runningFile = join(directory, `${context.unitName.replace("/", "-")}.running`);
  const podGoingAway = context.event.kind === "hook" && (context.event.name === "stop" || context.event.name === "remove");
  if (podGoingAway) await rm(runningFile, { force: true });
  let refresh: Kubernetes;
  try {
    refresh = await Kubernetes.create(run, {
      workloadName: "Sample DB",
      charmName: "unguarded-k8s",
      ociResourceName: "sample-db-image",
      runPreRefreshChecksAfterFirstUnitRefreshed: () => undefined,
    });
  } catch (error) {
    if (error instanceof PeerRelationNotReady || error instanceof UnitTearingDown) return;
    throw error;
  }
  if (podGoingAway) return;
  // The bug under test: no `refresh.workloadAllowedToStart` check before starting.
  const pinned = await loadRefreshVersions(context.charmDir);
  await mkdir(directory, { recursive: true });
  await writeFile(runningFile, pinned.workload);
  if (refresh.workloadAllowedToStart && !refresh.nextUnitAllowedToRefresh) await refresh.allowNextUnitToRefresh();
  const status = active();
  await run.tools.statusSet({ status: status.kind, message: status.message });
});
