import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import {
  ClusterStatefulSetDriver,
  createDispatcher,
  createSimulator,
  FakeKubernetesApiServer,
  FakeKubernetesCluster,
  FakeSnapd,
  HookToolServer,
  type Dispatcher,
  type Simulator,
} from "@refresh/testing";
import type { BuiltRevision, CharmApp } from "./charm-app.js";
import { RefreshSimError } from "./errors.js";
import { checkInvariants, type InvariantState } from "./invariants.js";
import type { Step } from "./scenario.js";

/** A unit in a {@link StatusSnapshot}. */
export interface UnitSnapshot {
  readonly name: string;
  readonly leader: boolean;
  readonly charmRevision: number;
  readonly workloadVersion: string;
  readonly workloadRunning: boolean;
  /** One of Juju's status names (`active`, `blocked`, …, `error`). */
  readonly status: string;
  readonly message: string;
}

/** The model as `juju status` would show it, in the shape `refresh-sim run --json` prints. */
export interface StatusSnapshot {
  readonly app: { readonly status: string; readonly message: string };
  readonly units: readonly UnitSnapshot[];
}

/** What a step produced: an action's outcome, or why the step could not run. */
export type StepResult =
  | { readonly action: string; readonly unit: string; readonly status: "completed" | "failed"; readonly results: Record<string, unknown>; readonly message: string | undefined }
  | { readonly failure: string }
  | null;

/** An invariant that did not hold, with the index of the step during which it broke (-1: deployment). */
export interface Violation {
  readonly step: number;
  readonly invariant: string;
  readonly explanation: string;
}

const NAMESPACE = "refresh-sim";

/**
 * One simulated model running a charm app's built revisions as real processes: the
 * simulator's hook tools on PATH, the fake Kubernetes API server or one fake snapd per
 * machine, and the Sample DB state directory the sample charms read their health from.
 */
export class SimWorld {
  readonly violations: Violation[] = [];
  #currentStep = -1;
  readonly #invariants: InvariantState;

  private constructor(
    readonly app: CharmApp,
    readonly revisions: readonly BuiltRevision[],
    readonly sim: Simulator,
    /** Where the simulated Sample DB keeps its members' state (`SAMPLE_DB_DIR`). */
    readonly dbDir: string,
    private readonly cleanups: (() => Promise<void>)[],
  ) {
    this.#invariants = { forcedStart: false, everRunning: new Set(), disrupted: new Set(), originalRevision: undefined };
    // Report a broken invariant once, when it breaks, not again after every later hook.
    let standing = new Set<string>();
    sim.addInvariant("refresh invariants", () => {
      const now = new Set<string>();
      for (const problem of checkInvariants(this, this.#invariants)) {
        const key = `${problem.invariant}\0${problem.explanation}`;
        now.add(key);
        if (!standing.has(key)) this.violations.push({ step: this.#currentStep, ...problem });
      }
      standing = now;
      return undefined;
    });
  }

  /** Starts the servers and the simulator; nothing is deployed yet. */
  static async start(app: CharmApp, revisions: readonly BuiltRevision[], options: { seed: number }): Promise<SimWorld> {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const workDir = await mkdtemp(join(tmpdir(), "refresh-sim-"));
      cleanups.push(() => rm(workDir, { recursive: true, force: true }));
      const dbDir = join(workDir, "sample-db");
      await mkdir(dbDir, { recursive: true });
      const hookTools = await HookToolServer.start();
      cleanups.push(() => hookTools.close());
      const processDispatcher = createDispatcher(hookTools);
      const environment: Record<string, string> = { SAMPLE_DB_DIR: dbDir };
      let dispatcher: Dispatcher = processDispatcher;
      let statefulSet: ((appName: string, initial: { charmRevision: number; image: string }) => ClusterStatefulSetDriver) | undefined;

      if (app.substrate === "kubernetes") {
        const cluster = new FakeKubernetesCluster({ namespace: NAMESPACE });
        const api = await FakeKubernetesApiServer.start({ cluster });
        cleanups.push(() => api.close());
        const account = await api.writeServiceAccount(app.name);
        Object.assign(environment, account.env);
        const container = await workloadContainer(revisions);
        statefulSet = (appName, initial) => ClusterStatefulSetDriver.deploy(cluster, appName, initial, { workloadContainer: container });
      } else {
        const machines = new Map<string, FakeSnapd>();
        cleanups.push(async () => {
          for (const snapd of machines.values()) await snapd.close();
        });
        const snapName = await pinnedSnapName(revisions);
        const architecture = machine();
        dispatcher = async (request) => {
          const unit = request.environment["JUJU_UNIT_NAME"] ?? "";
          let snapd = machines.get(unit);
          if (snapd === undefined) {
            // A new machine: snapd whose store offers every revision the charm revisions pin.
            snapd = new FakeSnapd({ pollsUntilReady: 1 });
            for (const revision of revisions) {
              const pin = revision["snap-revisions"]?.[architecture];
              if (pin !== undefined) snapd.addStoreRevision(snapName, { revision: pin, version: revision["workload-version"] });
            }
            await snapd.listen();
            machines.set(unit, snapd);
          }
          return processDispatcher({ ...request, environment: { ...request.environment, SNAPD_SOCKET: snapd.socketPath } });
        };
      }

      const sim = await createSimulator({
        substrate: app.substrate,
        appName: app.name,
        modelName: NAMESPACE,
        seed: options.seed,
        charms: revisions.map((revision) => ({
          revision: revision.revision,
          dir: revision.charmDir,
          dispatch: "dispatch",
          ...(revision.image === undefined ? {} : { image: revision.image }),
        })),
        dispatcher,
        environment,
        ...(statefulSet === undefined ? {} : { statefulSet }),
      });
      cleanups.push(() => sim.dispose());
      return new SimWorld(app, revisions, sim, dbDir, cleanups);
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw error;
    }
  }

  /** `juju deploy` of the first revision, then hooks run until the model is quiet. */
  async deploy(units: number, config: Readonly<Record<string, string | number | boolean>>): Promise<void> {
    const first = this.revisions[0];
    if (first === undefined) throw new RefreshSimError("NO_REVISIONS", `${this.app.name} has no revisions to deploy`, 2);
    this.#invariants.originalRevision = first;
    await this.sim.deploy({ revision: first.revision, units, config });
    await this.sim.settle();
  }

  /** The unit name of unit number `n`. */
  unitName(n: number): string {
    return `${this.app.name}/${n}`;
  }

  /** Whether `unit`'s workload (Sample DB member) is running. */
  workloadRunning(unit: string): boolean {
    return existsSync(this.#runningFile(unit));
  }

  /** The workload version `unit`'s member runs, or undefined when it is stopped. */
  runningVersion(unit: string): string | undefined {
    try {
      return readFileSync(this.#runningFile(unit), "utf8").trim();
    } catch {
      return undefined;
    }
  }

  #runningFile(unit: string): string {
    return join(this.dbDir, `${unit.replace("/", "-")}.running`);
  }

  /** The revision entry with this Charmhub revision number. */
  revisionByNumber(revision: number): BuiltRevision | undefined {
    return this.revisions.find((entry) => entry.revision === revision);
  }

  /** Runs one scenario step; `index` is its position in the scenario (for violations). */
  async apply(step: Step, index: number): Promise<StepResult> {
    this.#currentStep = index;
    try {
      return await this.#apply(step);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.violations.push({ step: index, invariant: "step runs", explanation: `the step could not be carried out: ${message}` });
      return { failure: message };
    }
  }

  async #apply(step: Step): Promise<StepResult> {
    const sim = this.sim;
    switch (step.kind) {
      case "refresh": {
        const target = this.#revision(step.value.to);
        sim.refresh({ to: target.revision, ...(step.value.resource === undefined ? {} : { resource: step.value.resource }) });
        return null;
      }
      case "settle":
        await sim.settle();
        return null;
      case "action": {
        const unit = this.#actionUnit(step.value.unit);
        // The forced start happens inside the action, so consent counts from when it is given.
        const forcing = step.value.name === "force-refresh-start" && !this.#invariants.forcedStart;
        if (forcing) this.#invariants.forcedStart = true;
        const outcome = await sim.runAction(unit, step.value.name, step.value.params ?? {});
        if (forcing && outcome.status !== "completed") this.#invariants.forcedStart = false;
        return { action: step.value.name, unit: outcome.unit, status: outcome.status, results: outcome.results, message: outcome.message };
      }
      case "config":
        sim.config(step.value);
        return null;
      case "add-unit":
        await sim.addUnit(step.value);
        return null;
      case "remove-unit":
        sim.removeUnit(this.unitName(step.value));
        return null;
      case "evict":
        this.#invariants.disrupted.add(this.unitName(step.value));
        sim.evict(this.unitName(step.value));
        return null;
      case "fail-next-hook":
        this.#invariants.disrupted.add(this.unitName(step.value.unit));
        sim.failNextHook(this.unitName(step.value.unit));
        return null;
      case "workload-health": {
        const unit = this.unitName(step.value.unit);
        await writeFile(join(this.dbDir, `${unit.replace("/", "-")}.health`), step.value.healthy ? "healthy" : "unhealthy");
        sim.setWorkloadHealth(unit, step.value.healthy);
        return null;
      }
    }
  }

  #revision(to: string | number): BuiltRevision {
    const found = typeof to === "number" ? this.revisionByNumber(to) : this.revisions.find((entry) => entry.name === to || String(entry.revision) === to);
    if (found === undefined) {
      throw new RefreshSimError(
        "UNKNOWN_REVISION",
        `revision "${to}" is not in ${this.app.name}'s revisions.yaml; known: ${this.revisions.map((entry) => `${entry.name} (${entry.revision})`).join(", ")}`,
      );
    }
    return found;
  }

  #actionUnit(unit: number | "leader" | "next"): string {
    if (unit === "leader") return this.sim.leader ?? "leader";
    if (typeof unit === "number") return this.unitName(unit);
    const message = this.sim.appStatus().message;
    // Statuses name the unit as `<app>/<n>` or as `unit <n>`.
    const named = new RegExp(`${this.app.name.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&")}/(\\d+)|\\bunit (\\d+)\\b`).exec(message);
    // Kubernetes statuses ask for resume-refresh "on the leader" rather than naming a unit.
    if (named === null && /\bleader\b/.test(message) && this.sim.leader !== undefined) return this.sim.leader;
    if (named === null) {
      throw new RefreshSimError("NO_NEXT_UNIT", `unit "next" was asked for, but the app status names no unit to act on (it says "${message}")`);
    }
    return `${this.app.name}/${named[1] ?? named[2] ?? ""}`;
  }

  /** The model now, as `refresh-sim run --json` reports it. */
  snapshot(): StatusSnapshot {
    const app = this.sim.appStatus();
    return {
      app: { status: app.status, message: app.message },
      units: this.sim.units.map((name) => {
        const status = this.sim.unitStatus(name);
        return {
          name,
          leader: this.sim.leader === name,
          charmRevision: this.sim.charmRevision(name),
          workloadVersion: this.sim.workloadVersion(name),
          workloadRunning: this.workloadRunning(name),
          status: status.status,
          message: status.message,
        };
      }),
    };
  }

  /** Stops the servers and removes every temporary directory. */
  async dispose(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

async function workloadContainer(revisions: readonly BuiltRevision[]): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const { parse } = await import("yaml");
  const first = revisions[0];
  if (first === undefined) return "workload";
  const metadata = parse(await readFile(join(first.charmDir, "metadata.yaml"), "utf8")) as { containers?: Record<string, { resource?: string }> };
  const names = Object.entries(metadata.containers ?? {}).filter(([, container]) => container.resource !== undefined).map(([name]) => name);
  if (names.length !== 1) throw new RefreshSimError("UNSUPPORTED_CHARM", `the Kubernetes simulation needs exactly one workload container with an OCI resource in metadata.yaml; found ${names.length}`);
  return names[0] as string;
}

async function pinnedSnapName(revisions: readonly BuiltRevision[]): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const { parse } = await import("smol-toml");
  const first = revisions[0];
  const versions = first === undefined ? {} : parse(await readFile(join(first.charmDir, "refresh_versions.toml"), "utf8"));
  const name = (versions as { snap?: { name?: unknown } }).snap?.name;
  if (typeof name !== "string") throw new RefreshSimError("UNSUPPORTED_CHARM", "the machines simulation needs a [snap] name in refresh_versions.toml");
  return name;
}
