import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterStatefulSetDriverOptions } from "../kubernetes/driver.js";
import { ClusterStatefulSetDriver } from "../kubernetes/driver.js";
import { FakeKubernetesCluster } from "../kubernetes/cluster.js";
import type { ServiceAccount } from "../kubernetes/api-server.js";
import { FakeKubernetesApiServer } from "../kubernetes/api-server.js";
import type { TestCertificates } from "../kubernetes/tls.js";
import type { CharmRevision } from "../model/charm.js";
import { SimulatorError } from "../model/errors.js";
import type { Simulator, SimulatorOptions, Substrate, UnitWorkload } from "../model/simulator.js";
import { createSimulator } from "../model/simulator.js";
import type { HookToolClientChoice } from "../process/client.js";
import { createDispatcher } from "../process/dispatch.js";
import { HookToolServer } from "../process/server.js";
import type { StoreRevision } from "../snapd/snapd.js";
import { FakeSnapd } from "../snapd/snapd.js";

/** How the charm's code runs: handler functions in this process, or its `dispatch` as a process. */
export type RunMode = "in-process" | "process";

/** The environment variable naming the directory of the units' workload state files. */
export const WORKLOAD_DIR_ENV = "REFRESH_SIM_WORKLOAD_DIR";

/** The workload snap every machine of a machines world can install. */
export interface WorldSnap {
  /** Snap name, e.g. `charmed-db`. */
  readonly name: string;
  /** Revisions in every machine's fake store. */
  readonly revisions: readonly StoreRevision[];
  /** Revision already installed when a machine is created; by default nothing is, and the charm installs it. */
  readonly installed?: string;
}

/** Options of {@link createWorld}. */
export interface WorldOptions {
  readonly substrate: Substrate;
  /**
   * `in-process` (default): each revision's `handler` runs in this process. `process`: each
   * revision's `dispatch` (default `dispatch` at the charm root) runs as a real process with
   * the hook tools on `PATH`; a revision's `handler`, if it has one, is ignored.
   */
  readonly mode?: RunMode;
  /** Every charm revision the test may deploy or refresh to (the first is deployed). */
  readonly charm: { readonly revisions: readonly CharmRevision[] };
  /** Units to deploy; 0 leaves deploying to the test (`world.sim.deploy`). @default 3 */
  readonly units?: number;
  /** @default 1 */
  readonly seed?: number;
  /** Config set at deploy time. */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /** Any other simulator option (concurrency, retries, app and model names, timeouts, extra environment). */
  readonly simulator?: Omit<SimulatorOptions, "substrate" | "charms" | "seed" | "dispatcher" | "statefulSet" | "unitEnvironment" | "observer" | "workloadOf">;
  /** Kubernetes worlds: trust, read rights of untrusted apps, container name, certificates. */
  readonly kubernetes?: {
    /** `juju trust` at deploy time. @default true */
    readonly trusted?: boolean;
    /** Whether an untrusted application may still read (see {@link FakeKubernetesApiServer}). @default true */
    readonly untrustedCanRead?: boolean;
    /** Name of the workload container in the pod template. @default "workload" */
    readonly workloadContainer?: string;
    /** Reuse certificates across worlds (making them costs an `openssl` run). */
    readonly certificates?: TestCertificates;
  };
  /** Machines worlds: the workload snap and how slow snapd changes are. */
  readonly machines?: {
    readonly snap?: WorldSnap;
    /** Polls of a change that report `Doing` before it ends. @default 1 */
    readonly pollsUntilReady?: number;
  };
  /**
   * Make every request to the fake API server or a fake snapd a scheduling point, like a
   * hook-tool call: another unit's hook may run between a charm's GET and its PATCH.
   * @default true
   */
  readonly yieldAtRequests?: boolean;
  /** Process mode: which hook-tool client goes on `PATH`. @default "auto" (the compiled C client, else Node) */
  readonly hookToolClient?: HookToolClientChoice;
  /**
   * More names for the workload-state directory variable ({@link WORKLOAD_DIR_ENV}), for
   * charms that read their own name for it (e.g. `SAMPLE_DB_DIR`).
   */
  readonly workloadDirAliases?: readonly string[];
}

/** The Kubernetes side of a world: the cluster, its HTTPS API server and the StatefulSet driver. */
export interface KubernetesParts {
  readonly cluster: FakeKubernetesCluster;
  readonly api: FakeKubernetesApiServer;
  /** The StatefulSet the simulator drives; undefined until the application is deployed. */
  readonly driver: ClusterStatefulSetDriver | undefined;
  /** The unit's service-account directory (token, ca.crt, namespace) and the environment pointing at it. */
  serviceAccount(unit: string): ServiceAccount;
  /** `juju trust` / `juju trust --remove`: whether the application may patch its StatefulSet. */
  setTrusted(trusted: boolean): void;
}

/** The machines side of a world: one fake snapd per machine. */
export interface MachinesParts {
  /** The unit's machine's snapd; throws for a unit without a machine (removed or unknown). */
  snapd(unit: string): FakeSnapd;
  /** Units that have a machine now. */
  readonly machines: readonly string[];
}

/** A simulated model wired to the fakes; always {@link World.dispose} it. */
export interface World {
  readonly sim: Simulator;
  readonly substrate: Substrate;
  readonly mode: RunMode;
  /** Present in Kubernetes worlds. */
  readonly kubernetes: KubernetesParts | undefined;
  /** Present in machines worlds. */
  readonly machines: MachinesParts | undefined;
  /** Present in process mode: the server answering the hook tools. */
  readonly hookTools: HookToolServer | undefined;
  /** Directory of the units' workload state files (`<app>-<n>.health`, …); {@link WORKLOAD_DIR_ENV} in every hook. */
  readonly workloadDir: string;
  /** The environment the simulator adds to a unit's hooks (on top of Juju's). */
  unitEnvironment(unit: string): Record<string, string>;
  /** The health the test last gave the unit's workload (default healthy). */
  workloadHealthy(unit: string): boolean;
  /** Closes the servers and sockets and removes every temporary directory. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * One call to a realistic world: a simulator for `substrate` wired to a fake Kubernetes
 * cluster behind an HTTPS API server (each unit gets `KUBERNETES_SERVICE_HOST`,
 * `KUBERNETES_SERVICE_PORT` and `KUBERNETES_SERVICE_ACCOUNT_DIR`) or to one fake snapd per
 * machine (`SNAPD_SOCKET`), running the charm in process or through its `dispatch`. Unless
 * `units` is 0 the application is deployed; its hooks are queued, so call `world.sim.settle()`.
 *
 * `sim.setWorkloadHealth(unit, healthy)` writes `<app>-<n>.health` (`healthy` / `unhealthy`)
 * into {@link World.workloadDir}, on both substrates; on Kubernetes it also drives pod
 * readiness, which gates the rollout.
 */
export async function createWorld(options: WorldOptions): Promise<World> {
  const mode = options.mode ?? "in-process";
  const revisions = options.charm.revisions.map((revision) => charmFor(mode, revision));
  const cleanups: (() => Promise<void>)[] = [];
  const dispose = async (): Promise<void> => {
    // Last opened, first closed: the simulator's hooks may still hold sockets of the servers.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const workloadDir = await mkdtemp(join(tmpdir(), "refresh-sim-workload-"));
    cleanups.push(() => rm(workloadDir, { recursive: true, force: true }));
    const health = new Map<string, boolean>();
    const environments = new Map<string, Record<string, string>>();
    const baseEnvironment: Record<string, string> = { [WORKLOAD_DIR_ENV]: workloadDir };
    for (const alias of options.workloadDirAliases ?? []) baseEnvironment[alias] = workloadDir;
    const pending = new Set<Promise<void>>();
    const track = (work: Promise<void>): void => {
      const settled = work.catch(() => undefined).finally(() => pending.delete(settled));
      pending.add(settled);
    };
    cleanups.push(async () => {
      await Promise.all([...pending]);
    });

    let hookTools: HookToolServer | undefined;
    if (mode === "process") {
      hookTools = await HookToolServer.start({ client: options.hookToolClient ?? "auto" });
      const server = hookTools;
      cleanups.push(() => server.close());
    }

    const modelName = options.simulator?.modelName ?? "test-model";
    let kubernetes: (KubernetesParts & { accounts: Map<string, ServiceAccount> }) | undefined;
    let driver: ClusterStatefulSetDriver | undefined;
    let statefulSet: SimulatorOptions["statefulSet"];
    if (options.substrate === "kubernetes") {
      const cluster = new FakeKubernetesCluster({ namespace: modelName });
      const api = await FakeKubernetesApiServer.start({
        cluster,
        ...(options.kubernetes?.untrustedCanRead === undefined ? {} : { untrustedCanRead: options.kubernetes.untrustedCanRead }),
        ...(options.kubernetes?.certificates === undefined ? {} : { certificates: options.kubernetes.certificates }),
      });
      cleanups.push(() => api.close());
      const driverOptions: ClusterStatefulSetDriverOptions = {
        trusted: options.kubernetes?.trusted ?? true,
        workloadContainer: options.kubernetes?.workloadContainer ?? "workload",
      };
      statefulSet = (appName, initial) => {
        driver = ClusterStatefulSetDriver.deploy(cluster, appName, initial, driverOptions);
        return driver;
      };
      const accounts = new Map<string, ServiceAccount>();
      kubernetes = {
        cluster,
        api,
        accounts,
        get driver() {
          return driver;
        },
        serviceAccount(unit) {
          const account = accounts.get(unit);
          if (account === undefined) throw new SimulatorError("SIM_UNKNOWN_UNIT", `${unit} has no pod (and no service account) in this world; units: ${[...accounts.keys()].join(", ") || "none"}`);
          return account;
        },
        setTrusted(trusted) {
          if (driver === undefined) throw new SimulatorError("SIM_NOT_DEPLOYED", "nothing is deployed yet; deploy before changing trust");
          driver.statefulSet.setTrusted(trusted);
        },
      };
    }

    const snapds = new Map<string, FakeSnapd>();
    const machines: MachinesParts | undefined =
      options.substrate === "machines"
        ? {
            snapd(unit) {
              const snapd = snapds.get(unit);
              if (snapd === undefined) throw new SimulatorError("SIM_UNKNOWN_UNIT", `${unit} has no machine in this world; machines: ${[...snapds.keys()].join(", ") || "none"}`);
              return snapd;
            },
            get machines() {
              return [...snapds.keys()];
            },
          }
        : undefined;
    cleanups.push(async () => {
      await Promise.all([...snapds.values()].map((snapd) => snapd.close()));
      snapds.clear();
    });

    // Per unit, so a request parks the hook that sent it even while that hook also awaits a tool call.
    let requestGate: ((unit: string) => () => Promise<void>) | undefined;
    const snap = options.machines?.snap;
    const workloadOf = (unit: string): UnitWorkload | undefined => {
      if (snap === undefined) return undefined;
      const snapd = snapds.get(unit);
      if (snapd === undefined) return undefined;
      const installed = snapd.snap(snap.name);
      return { name: snap.name, revision: installed?.revision, version: installed?.version, running: snapd.isServiceRunning(snap.name) };
    };

    const simulator = await createSimulator({
      ...(options.simulator ?? {}),
      substrate: options.substrate,
      charms: revisions,
      seed: options.seed ?? 1,
      ...(hookTools === undefined ? {} : { dispatcher: createDispatcher(hookTools) }),
      ...(statefulSet === undefined ? {} : { statefulSet }),
      unitEnvironment: (unit) => environments.get(unit),
      ...(options.substrate === "machines" ? { workloadOf } : {}),
      observer: {
        unitCreated: async (unit) => {
          const environment: Record<string, string> = { ...baseEnvironment };
          if (kubernetes !== undefined) {
            // A new pod for the same unit keeps its service account; only a new unit gets one.
            let account = kubernetes.accounts.get(unit.name);
            if (account === undefined) {
              account = await kubernetes.api.writeServiceAccount(unit.name.slice(0, unit.name.lastIndexOf("/")));
              kubernetes.accounts.set(unit.name, account);
            }
            Object.assign(environment, account.env);
          }
          if (machines !== undefined) {
            const snapd = new FakeSnapd({ pollsUntilReady: options.machines?.pollsUntilReady ?? 1 });
            if (snap !== undefined) {
              for (const revision of snap.revisions) snapd.addStoreRevision(snap.name, revision);
              if (snap.installed !== undefined) {
                const installed = snap.revisions.find((revision) => revision.revision === snap.installed);
                if (installed === undefined) {
                  throw new SimulatorError("SIM_SNAP_REVISION_UNKNOWN", `snap revision ${snap.installed} is not among the store revisions (${snap.revisions.map((r) => r.revision).join(", ")}); add it to machines.snap.revisions`);
                }
                snapd.install(snap.name, installed);
              }
            }
            if (requestGate !== undefined) snapd.setRequestGate(requestGate(unit.name));
            snapds.set(unit.name, snapd);
            Object.assign(environment, await snapd.listen().then(() => snapd.env()));
          }
          environments.set(unit.name, environment);
          await writeHealth(workloadDir, unit.name, health.get(unit.name) ?? true);
        },
        unitRemoved: (unit) => {
          const snapd = snapds.get(unit.name);
          snapds.delete(unit.name);
          if (snapd !== undefined) track(snapd.close());
          const account = kubernetes?.accounts.get(unit.name);
          if (account !== undefined && kubernetes !== undefined) {
            kubernetes.api.revokeToken(account.token);
            kubernetes.accounts.delete(unit.name);
          }
          environments.delete(unit.name);
        },
        workloadHealthChanged: (unit, healthy) => {
          health.set(unit, healthy);
          // Synchronous on purpose: the very next hook must read the new health, and
          // setWorkloadHealth is not async.
          writeFileSync(join(workloadDir, `${workloadFileStem(unit)}.health`), healthText(healthy));
        },
      },
    });
    cleanups.push(() => simulator.dispose());
    if (options.yieldAtRequests ?? true) {
      const gate = (unit: string) => (): Promise<void> => simulator.requestYieldPoint(unit);
      const accounts = kubernetes?.accounts;
      kubernetes?.api.setRequestGate((request) => {
        const unit = accounts === undefined ? undefined : [...accounts].find(([, account]) => account.token === request.token)?.[0];
        return simulator.requestYieldPoint(unit);
      });
      requestGate = gate;
      for (const [unit, snapd] of snapds) snapd.setRequestGate(gate(unit));
    }

    if ((options.units ?? 3) > 0) {
      await simulator.deploy({ units: options.units ?? 3, ...(options.config === undefined ? {} : { config: options.config }) });
    }
    return {
      sim: simulator,
      substrate: options.substrate,
      mode,
      kubernetes,
      machines,
      hookTools,
      workloadDir,
      unitEnvironment: (unit) => ({ ...(environments.get(unit) ?? {}) }),
      workloadHealthy: (unit) => health.get(unit) ?? true,
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

function charmFor(mode: RunMode, revision: CharmRevision): CharmRevision {
  const { handler, dispatch, ...files } = revision;
  if (mode === "in-process") {
    if (handler === undefined) {
      throw new SimulatorError("CHARM_WITHOUT_HANDLER", `charm revision ${revision.revision} has no handler, so it cannot run in-process; give it a handler or use mode "process"`);
    }
    return { ...files, handler };
  }
  return { ...files, dispatch: dispatch ?? "dispatch" };
}

/** `db/1` → `db-1`: unit names hold a slash, file names cannot. */
export function workloadFileStem(unit: string): string {
  return unit.replace("/", "-");
}

async function writeHealth(directory: string, unit: string, healthy: boolean): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, `${workloadFileStem(unit)}.health`), healthText(healthy));
}

function healthText(healthy: boolean): string {
  return healthy ? "healthy" : "unhealthy";
}
