import { readFile } from "node:fs/promises";
import { machine } from "node:os";
import { join } from "node:path";
import { createWorld, type Simulator, type World, type WorldOptions } from "@refresh/testing";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { BuiltRevision, CharmApp } from "./charm-app.js";
import { RefreshSimError, formatIssuePath } from "./errors.js";
import { createRunInvariants, readRunningVersion, type RunInvariants } from "./invariants.js";
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

/** The simulated model's name (and, on Kubernetes, the namespace of its StatefulSet). */
const MODEL_NAME = "refresh-sim";

/** Options of {@link SimWorld.start}. */
export interface SimWorldOptions {
  readonly seed: number;
  readonly units: number;
  readonly config: Readonly<Record<string, string | number | boolean>>;
}

/**
 * One simulated model running a charm app's built revisions as real processes, on
 * `@refresh/testing`'s {@link createWorld}: the simulator's hook tools on PATH, the fake
 * Kubernetes API server or one fake snapd per machine, and the Sample DB state directory
 * (`SAMPLE_DB_DIR`) the sample charms read their health from. The refresh invariants are
 * checked after every hook; what broke lands in {@link violations} with the scenario step.
 */
export class SimWorld {
  readonly violations: Violation[] = [];
  #currentStep = -1;
  readonly #invariants: RunInvariants;

  private constructor(
    readonly app: CharmApp,
    readonly revisions: readonly BuiltRevision[],
    private readonly world: World,
    config: Readonly<Record<string, string | number | boolean>>,
    snapName: string | undefined,
  ) {
    this.#invariants = createRunInvariants({
      world,
      revisions,
      config,
      workload: { runningVersion: (unit) => this.runningVersion(unit) },
      ...(snapName === undefined ? {} : { snapName }),
    });
    // Report a broken invariant once, when it breaks, not again after every later hook.
    let standing = new Set<string>();
    world.sim.addInvariant("refresh invariants", (sim) => {
      const now = new Set<string>();
      const last = sim.history.at(-1);
      const after = last === undefined ? "" : ` (seen after ${last.unit} ran ${last.hook})`;
      for (const problem of this.#invariants.check()) {
        const key = `${problem.invariant}\0${problem.explanation}`;
        now.add(key);
        if (!standing.has(key)) this.violations.push({ step: this.#currentStep, invariant: problem.invariant, explanation: `${problem.explanation}${after}` });
      }
      standing = now;
      return undefined;
    });
  }

  /**
   * Starts the fakes and the simulator and deploys the first revision with `units` units; the
   * deployment's hooks are queued, {@link settleDeployment} runs them.
   */
  static async start(app: CharmApp, revisions: readonly BuiltRevision[], options: SimWorldOptions): Promise<SimWorld> {
    const first = revisions[0];
    if (first === undefined) throw new RefreshSimError("NO_REVISIONS", `${app.name} has no revisions to deploy`, 2);
    const snapName = app.substrate === "machines" ? await pinnedSnapName(first) : undefined;
    const substrateOptions: Partial<WorldOptions> =
      snapName === undefined
        ? { kubernetes: { workloadContainer: await workloadContainer(first) } }
        : { machines: { snap: { name: snapName, revisions: storeRevisions(revisions) } } };
    const world = await createWorld({
      substrate: app.substrate,
      mode: "process",
      charm: {
        revisions: revisions.map((revision) => ({
          revision: revision.revision,
          dir: revision.charmDir,
          dispatch: "dispatch",
          ...(revision.image === undefined ? {} : { image: revision.image }),
        })),
      },
      units: options.units,
      seed: options.seed,
      config: options.config,
      workloadDirAliases: ["SAMPLE_DB_DIR"],
      simulator: { appName: app.name, modelName: MODEL_NAME },
      ...substrateOptions,
    });
    try {
      return new SimWorld(app, revisions, world, options.config, snapName);
    } catch (error) {
      await world.dispose();
      throw error;
    }
  }

  /** The simulator the world runs. */
  get sim(): Simulator {
    return this.world.sim;
  }

  /** Runs the deployment's hooks until the model is quiet. */
  async settleDeployment(): Promise<void> {
    this.#currentStep = -1;
    await this.sim.settle();
  }

  /** The unit name of unit number `n`. */
  unitName(n: number): string {
    return `${this.app.name}/${n}`;
  }

  /** Whether `unit`'s workload (Sample DB member) is running. */
  workloadRunning(unit: string): boolean {
    return this.runningVersion(unit) !== undefined;
  }

  /** The workload version `unit`'s member runs, or undefined when it is stopped. */
  runningVersion(unit: string): string | undefined {
    return readRunningVersion(this.world.workloadDir, unit);
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
        const params = step.value.params ?? {};
        this.#invariants.actionStarting(unit, step.value.name, params);
        let status: "completed" | "failed" = "failed";
        try {
          const outcome = await sim.runAction(unit, step.value.name, params);
          status = outcome.status;
          return { action: step.value.name, unit: outcome.unit, status: outcome.status, results: outcome.results, message: outcome.message };
        } finally {
          this.#invariants.actionFinished(unit, status);
        }
      }
      case "config":
        sim.config(step.value);
        this.#invariants.configChanged(step.value);
        return null;
      case "add-unit":
        await sim.addUnit(step.value);
        this.#invariants.unitsCreated();
        return null;
      case "remove-unit":
        sim.removeUnit(this.unitName(step.value));
        return null;
      case "evict":
        this.#invariants.disrupting(this.unitName(step.value), "evict");
        sim.evict(this.unitName(step.value));
        return null;
      case "fail-next-hook":
        this.#invariants.disrupting(this.unitName(step.value.unit), "fail-next-hook");
        sim.failNextHook(this.unitName(step.value.unit));
        return null;
      case "workload-health":
        // The world writes the member's health file before this returns; the sample charms read it.
        sim.setWorkloadHealth(this.unitName(step.value.unit), step.value.healthy);
        return null;
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
    await this.world.dispose();
  }
}

/** The part of metadata.yaml the Kubernetes world reads; other keys are the charm's business. */
const containersSchema = z.looseObject({ containers: z.record(z.string(), z.looseObject({ resource: z.string().optional() })).optional() }).nullable();

/** The Kubernetes world's workload container: the one container of metadata.yaml with an OCI resource. */
async function workloadContainer(revision: BuiltRevision): Promise<string> {
  const parsed = containersSchema.safeParse(parseYaml(await readFile(join(revision.charmDir, "metadata.yaml"), "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : ` at ${formatIssuePath(issue.path)}: ${issue.message}`;
    throw new RefreshSimError("UNSUPPORTED_CHARM", `metadata.yaml of revision ${revision.revision} is malformed${where}; each container must be a mapping and its resource a string`, 2);
  }
  const names = Object.entries(parsed.data?.containers ?? {})
    .filter(([, container]) => container.resource !== undefined)
    .map(([name]) => name);
  const [name] = names;
  if (names.length !== 1 || name === undefined) {
    throw new RefreshSimError("UNSUPPORTED_CHARM", `the Kubernetes simulation needs exactly one workload container with an OCI resource in metadata.yaml; found ${names.length}`, 2);
  }
  return name;
}

/** The machines charm's workload snap: `[snap] name` in refresh_versions.toml. */
async function pinnedSnapName(revision: BuiltRevision): Promise<string> {
  const versions = parseToml(await readFile(join(revision.charmDir, "refresh_versions.toml"), "utf8")) as { snap?: { name?: unknown } };
  const name = versions.snap?.name;
  if (typeof name !== "string" || name === "") throw new RefreshSimError("UNSUPPORTED_CHARM", "the machines simulation needs a [snap] name in refresh_versions.toml", 2);
  return name;
}

/** Every snap revision the charm revisions pin for this machine's architecture: each machine's store. */
function storeRevisions(revisions: readonly BuiltRevision[]): { revision: string; version: string }[] {
  const architecture = machine();
  const offered = new Map<string, string>();
  for (const revision of revisions) {
    const pin = revision["snap-revisions"]?.[architecture];
    if (pin !== undefined && !offered.has(pin)) offered.set(pin, revision["workload-version"]);
  }
  return [...offered].map(([revision, version]) => ({ revision, version }));
}
