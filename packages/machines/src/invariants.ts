/**
 * Safety invariants of a machines refresh, checked from outside the charm (what a simulated
 * model shows: committed databags, the snaps on each machine), so that scenario tests, the
 * sample charm's tests and refresh-sim assert the same properties after every hook:
 *
 * 1. never two units' snaps change at once (a machine's first install does not count: it has
 *    no workload that could be down, and at deployment every machine installs at once);
 * 2. no unit refreshes its snap ahead of the refresh order (every unit before it has
 *    published the target revision and declared itself healthy) or past a pause (a unit the
 *    pause setting holds only refreshes in a `resume-refresh` action);
 * 3. a workload is never installed or changed while the library forbids it
 *    (`PeerRelationNotReady`, `UnitTearingDown`);
 * 4. once saved, the original versions are never lost, and they change only when every unit
 *    is on the new original snap revision.
 *
 * The override `resume-refresh check-health-of-refreshed-units=false` is exempt from 2, as
 * the library documents. Nothing here imports the simulator: the harness adapts its model to
 * {@link MachinesModelView} and {@link WatchableSnapd}.
 */
import { AppKey, decodeAppDatabag, decodeMachinesUnitDatabag, parsePauseAfterUnitRefresh, readOriginalVersions } from "@refresh/core";
import { applyFixedOrder, defaultRefreshOrder, resumeRequired } from "./decisions.js";
import { refreshOrderDatabag } from "./machines.js";

/** The committed state of a model, as the invariants read it. */
export interface MachinesModelView {
  /** The units of the application (dying ones included), any order. */
  units(): readonly string[];
  /** A unit's committed peer databag. */
  unitData(unit: string): Readonly<Record<string, string>>;
  /** The committed peer application databag. */
  appData(): Readonly<Record<string, string>>;
  /** The `pause-after-unit-refresh` value the unit sees (raw). */
  pauseOf(unit: string): unknown;
}

/** The event a unit is running, as far as the invariants care. */
export interface ObservedEvent {
  readonly kind: "hook" | "action";
  readonly name: string;
  /** Action parameters, when known. */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** How `Machines.create` ended in a unit's current event. */
export type CreateOutcome = "ready" | "peer-relation-not-ready" | "tearing-down";

/** The slice of a fake snapd the invariants watch (FakeSnapd from @refresh/testing fits). */
export interface WatchableSnapd {
  subscribe(
    listener: (
      event:
        | { readonly type: "change-started"; readonly change: { readonly kind: string; readonly snap: string } }
        | { readonly type: "change-done"; readonly change: { readonly kind: string; readonly snap: string }; readonly from: string | undefined; readonly to: string }
        | { readonly type: "change-failed"; readonly change: { readonly kind: string; readonly snap: string } },
    ) => void,
  ): () => void;
  allChanges(): readonly { readonly status: string }[];
  snap(name: string): { readonly revision: string } | undefined;
}

/** Options of {@link MachinesInvariants}. */
export interface MachinesInvariantsOptions {
  /** The workload snap's name. */
  readonly snapName: string;
  readonly view: MachinesModelView;
  /**
   * The charm's refresh order over the units, when it customises it (the same function it
   * gives the library); once a unit publishes the fixed order, that one is used.
   */
  readonly refreshOrder?: (units: readonly string[]) => readonly string[];
}

interface PendingChange {
  readonly unit: string;
  readonly kind: string;
  readonly event: ObservedEvent | undefined;
  readonly outcome: CreateOutcome | undefined;
  /** Committed databags at the moment the change started: what the unit decided on (or older). */
  readonly snapshot: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly order: readonly string[];
}

/**
 * Collects violations of the machines refresh invariants. Attach every unit's snapd, tell it
 * which event each unit runs and how `Machines.create` ended, and call {@link check} after
 * every hook (e.g. as a simulator invariant).
 */
export class MachinesInvariants {
  readonly #options: MachinesInvariantsOptions;
  readonly #snapds = new Map<string, WatchableSnapd>();
  readonly #events = new Map<string, ObservedEvent>();
  readonly #outcomes = new Map<string, CreateOutcome>();
  readonly #everReady = new Set<string>();
  readonly #pending = new Map<string, PendingChange>();
  /** Units whose running snap change is the snap's first install on that machine. */
  readonly #firstInstalls = new Set<string>();
  #violations: string[] = [];
  #originals: string | undefined;

  constructor(options: MachinesInvariantsOptions) {
    this.#options = options;
  }

  /** Watches a unit's snapd for the rest of the run. */
  attachSnapd(unit: string, snapd: WatchableSnapd): void {
    this.#snapds.set(unit, snapd);
    snapd.subscribe((event) => {
      if (event.change.snap !== this.#options.snapName) return;
      if (event.type === "change-started") {
        this.#changeStarted(unit, event.change.kind);
        return;
      }
      this.#firstInstalls.delete(unit);
      if (event.type === "change-done") this.#changeDone(unit, event.from, event.to);
      else this.#pending.delete(unit);
    });
  }

  /** Records the event a unit starts running (call before `Machines.create`). */
  eventStarted(unit: string, event: ObservedEvent): void {
    this.#events.set(unit, event);
    this.#outcomes.delete(unit);
  }

  /** Records how `Machines.create` ended in the unit's current event. */
  createEnded(unit: string, outcome: CreateOutcome): void {
    this.#outcomes.set(unit, outcome);
    if (outcome === "ready") this.#everReady.add(unit);
  }

  /** Violations found since the last call, joined; undefined when there are none. */
  check(): string | undefined {
    this.#checkNeverInstalledBeforeReady();
    this.#checkOriginalVersions();
    const found = this.#violations;
    this.#violations = [];
    return found.length === 0 ? undefined : found.join("; ");
  }

  #changeStarted(unit: string, kind: string): void {
    const firstInstall = this.#snapds.get(unit)?.snap(this.#options.snapName) === undefined;
    if (firstInstall) this.#firstInstalls.add(unit);
    else this.#firstInstalls.delete(unit);
    for (const [other, snapd] of this.#snapds) {
      if (other === unit || firstInstall || this.#firstInstalls.has(other)) continue;
      if (snapd.allChanges().some((change) => change.status === "Doing")) {
        this.#violations.push(`${unit} started a snap change while ${other} had one running`);
      }
    }
    const outcome = this.#outcomes.get(unit);
    if (outcome === "peer-relation-not-ready" || outcome === "tearing-down") {
      this.#violations.push(`${unit} changed its snap (${kind}) in an event where Machines.create raised ${outcome}`);
    }
    const { view } = this.#options;
    const units = view.units();
    const snapshot = new Map(units.map((name) => [name, view.unitData(name)]));
    this.#pending.set(unit, { unit, kind, event: this.#events.get(unit), outcome, snapshot, order: this.#order(units, snapshot) });
  }

  #changeDone(unit: string, from: string | undefined, to: string): void {
    const pending = this.#pending.get(unit);
    this.#pending.delete(unit);
    if (pending === undefined || from === undefined) return; // first installs are covered by the readiness rule
    const event = pending.event;
    const override = event?.kind === "action" && event.name === "resume-refresh" && event.params?.["check-health-of-refreshed-units"] === false;
    if (override) return;
    const index = pending.order.indexOf(unit);
    for (const previous of pending.order.slice(0, Math.max(index, 0))) {
      const published = decodeMachinesUnitDatabag(pending.snapshot.get(previous) ?? {}, previous).values;
      if (published.installedSnapRevision !== to || published.nextUnitAllowedToRefresh !== true) {
        this.#violations.push(
          `${unit} refreshed its snap ${from} → ${to} while ${previous}, before it in the order [${pending.order.join(", ")}], ` +
            `published revision ${published.installedSnapRevision ?? "none"} and healthy=${String(published.nextUnitAllowedToRefresh ?? false)}`,
        );
        return;
      }
    }
    const pause = parsePauseAfterUnitRefresh(this.#options.view.pauseOf(unit));
    const resumed = event?.kind === "action" && event.name === "resume-refresh";
    if (index > 0 && resumeRequired(pause, index) && !resumed) {
      this.#violations.push(
        `${unit} (index ${index} of the order) refreshed its snap ${from} → ${to} in ${event?.name ?? "an unknown event"}, ` +
          `but pause-after-unit-refresh=${String(this.#options.view.pauseOf(unit))} holds it until resume-refresh`,
      );
    }
  }

  #order(units: readonly string[], snapshot: ReadonlyMap<string, Readonly<Record<string, string>>>): readonly string[] {
    for (const [unit, data] of snapshot) {
      const fixed = refreshOrderDatabag.decode(data, { unit }).values.refreshOrder;
      if (fixed !== undefined) return applyFixedOrder(fixed, units);
    }
    return this.#options.refreshOrder?.(units) ?? defaultRefreshOrder(units);
  }

  #checkNeverInstalledBeforeReady(): void {
    for (const [unit, snapd] of this.#snapds) {
      if (this.#everReady.has(unit)) continue;
      const installed = snapd.snap(this.#options.snapName);
      if (installed !== undefined) {
        this.#violations.push(`${unit} has snap revision ${installed.revision} installed although Machines.create never let it past the peer-relation check`);
      }
    }
  }

  #checkOriginalVersions(): void {
    const { view } = this.#options;
    const app = view.appData();
    const keys = [
      AppKey.originalWorkloadVersion,
      AppKey.originalWorkloadContainerVersion,
      AppKey.originalInstalledWorkloadContainerMatchedPinnedContainer,
      AppKey.originalCharmVersion,
      AppKey.originalCharmRevision,
    ];
    let valid: ReturnType<typeof readOriginalVersions> | undefined;
    try {
      valid = readOriginalVersions(decodeAppDatabag(app, "app"));
    } catch {
      valid = undefined;
    }
    const text = JSON.stringify(keys.map((key) => app[key]));
    if (valid === undefined) {
      if (this.#originals !== undefined) this.#violations.push(`the original versions were lost from the app databag (was ${this.#originals}, now ${text})`);
      return;
    }
    if (this.#originals !== undefined && this.#originals !== text) {
      for (const unit of view.units()) {
        const revision = decodeMachinesUnitDatabag(view.unitData(unit), unit).values.installedSnapRevision;
        if (revision !== undefined && revision !== valid.workloadContainerVersion) {
          this.#violations.push(
            `the original versions changed to snap revision ${valid.workloadContainerVersion} while ${unit} still publishes ${revision} (a refresh is in progress)`,
          );
        }
      }
    }
    this.#originals = text;
  }
}
