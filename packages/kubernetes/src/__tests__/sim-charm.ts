/**
 * The test charm of the simulator scenarios, one handler for both ways the simulator runs a
 * charm: called in-process, or bundled behind a real `dispatch` (see `sim-charm-entry.ts`).
 * It does what the integration docs tell charm authors to do, and keeps everything the test
 * must steer or observe in files, so that both modes behave the same:
 *
 * - `<charm dir>/.workload-running` exists while its workload runs. The charm directory is
 *   the pod's emptyDir, so the workload "dies" with the pod, as a real container does;
 * - `$REFRESH_SIM_WORKLOAD_DIR/<app>-<n>.health` (written by `sim.setWorkloadHealth`):
 *   an unhealthy workload runs but never declares itself healthy;
 * - `$REFRESH_SIM_WORKLOAD_DIR/precheck-failure`: when present, the pre-refresh check fails
 *   with its content; every call appends a line to `precheck-calls`;
 * - `$REFRESH_SIM_WORKLOAD_DIR/api-timeout-ms`: the charm's deadline per API request (a charm
 *   may choose one shorter than the library's 20 s; the timeout scenario needs it).
 */
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PrecheckFailed, RefreshError } from "@refresh/core";
import type { CharmHandler, CharmRun } from "@refresh/juju";
import { connectInCluster } from "../connect.js";
import { Kubernetes } from "../kubernetes.js";

/** The marker of a running workload, in the unit's charm directory. */
export const WORKLOAD_RUNNING_FILE = ".workload-running";
/** Present in the workload directory: the pre-refresh check fails with this file's content. */
export const PRECHECK_FAILURE_FILE = "precheck-failure";
/** One line per pre-refresh check run, in the workload directory. */
export const PRECHECK_CALLS_FILE = "precheck-calls";
/** Present in the workload directory: the API request deadline in milliseconds. */
export const API_TIMEOUT_FILE = "api-timeout-ms";

const EXPECTED_REFUSALS = new Set(["PEER_RELATION_NOT_READY", "UNIT_TEARING_DOWN", "KUBERNETES_JUJU_APP_NOT_TRUSTED"]);

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

async function stopWorkload(run: CharmRun): Promise<void> {
  await rm(join(run.context.charmDir, WORKLOAD_RUNNING_FILE), { force: true });
}

/** The test charm's entry point for every event. */
export const simCharm: CharmHandler = async (run) => {
  const { context, tools } = run;
  const workloadDir = context.environment["REFRESH_SIM_WORKLOAD_DIR"];
  // A stopping pod's workload stops with it, whatever the library says next.
  if (context.event.kind === "hook" && context.event.name === "stop") await stopWorkload(run);
  const timeout = workloadDir === undefined ? undefined : await readOptional(join(workloadDir, API_TIMEOUT_FILE));
  const options =
    timeout === undefined ? {} : { api: await connectInCluster({ environment: context.environment, appName: context.appName, timeoutMs: Number(timeout) }) };
  let refresh: Kubernetes;
  try {
    refresh = await Kubernetes.create(run, {
      workloadName: "Database",
      charmName: "db-k8s",
      ociResourceName: "db-image",
      runPreRefreshChecksAfterFirstUnitRefreshed: async () => {
        if (workloadDir === undefined) return;
        await appendFile(join(workloadDir, PRECHECK_CALLS_FILE), `${context.unitName}\n`);
        const failure = await readOptional(join(workloadDir, PRECHECK_FAILURE_FILE));
        if (failure !== undefined) throw new PrecheckFailed(failure.trim());
      },
    }, options);
  } catch (error) {
    if (error instanceof RefreshError && EXPECTED_REFUSALS.has(error.code)) {
      // Untrusted: the workload keeps running as it was; the others must not run it.
      if (error.code !== "KUBERNETES_JUJU_APP_NOT_TRUSTED") await stopWorkload(run);
      return;
    }
    throw error;
  }
  const stopping = context.event.kind === "hook" && context.event.name === "stop";
  let running = false;
  if (!stopping && refresh.workloadAllowedToStart) {
    await writeFile(join(context.charmDir, WORKLOAD_RUNNING_FILE), "running\n");
    running = true;
    const health = workloadDir === undefined ? undefined : await readOptional(join(workloadDir, `${context.unitName.replace("/", "-")}.health`));
    if (health?.trim() !== "unhealthy" && !refresh.nextUnitAllowedToRefresh) await refresh.allowNextUnitToRefresh();
  } else if (!stopping) {
    await stopWorkload(run);
  }
  const unitStatus = refresh.unitStatusHigherPriority ?? refresh.unitStatusLowerPriority({ workloadIsRunning: running });
  await tools.statusSet(unitStatus === undefined ? { status: "active", message: "" } : { status: unitStatus.kind, message: unitStatus.message });
  if (await tools.isLeader()) {
    const appStatus = refresh.appStatusHigherPriority;
    await tools.statusSet(appStatus === undefined ? { status: "active", message: "" } : { status: appStatus.kind, message: appStatus.message }, { application: true });
  }
};
