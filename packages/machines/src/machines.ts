import {
  AppKey,
  appDatabag,
  charmhubRevision,
  checkWorkloadNameLength,
  databagField,
  decodeAppDatabag,
  decodeMachinesUnitDatabag,
  defineDatabag,
  describePausePolicy,
  forceRefreshStartSkipsAnyCheck,
  isCompatibleByDefault,
  LocalFile,
  machinesUnitDatabag,
  OriginalVersionsInvalid,
  originalVersionsUpdate,
  parseForceRefreshStartParameters,
  skippedChecks,
  parsePauseAfterUnitRefresh,
  parseResumeRefreshParameters,
  PAUSE_AFTER_UNIT_REFRESH,
  PEER_RELATION_NAME,
  PeerRelationNotReady,
  PrecheckFailed,
  readOriginalVersions,
  RefreshAction,
  RefreshError,
  REMOVE,
  alongside,
  settledValue,
  toCompatibilityResult,
  UnitTearingDown,
  type CharmCodeRefreshHistory,
  CharmVersion as CharmVersionClass,
  type CharmVersion,
  type Common,
  type CompatibilityInput,
  type CompatibilityResult,
  type DatabagChanges,
  type DatabagUpdate,
  type ForceRefreshStartParameters,
  type MachinesUnitFields,
  type PauseSetting,
  type RefreshSummary,
  type ResumeRefreshParameters,
  type Status,
} from "@refresh/core";
import type { CharmRun, GoalState, RelationId } from "@refresh/juju";
import * as z from "zod/mini";
import {
  applyFixedOrder,
  defaultRefreshOrder,
  determineInProgress,
  firstUnhealthyBefore,
  freshness,
  isUpToDate,
  nextUnitToRefresh,
  refreshOrderProblem,
  resumeRequired,
  unitNumber,
  type FreshnessBasis,
  type PeerUnit,
  type PublishedUnitState,
  type Tristate,
} from "./decisions.js";
import { charmFileMtime, LocalState, readPinnedVersions, readRawCharmRevision, REFRESH_ORDER_FILE, type PinnedVersions } from "./localState.js";
import { SnapdClient, snapdSocketPath, type SnapRefreshOptions } from "./snapd.js";
import { appStatus, lowerPriorityUnitStatus, precheckFailedStatus, rollbackCommand, WAITING_FOR_CONFIRMING_EVENT } from "./statuses.js";

/**
 * The unit databag key of the refresh-order extension: the order fixed when the refresh
 * started, mirrored like the refresh-started flag. This library only; the Python library
 * ignores keys it does not know, so units of both can share the relation.
 */
export const REFRESH_ORDER_KEY = "refresh_order_if_this_units_databag_is_up_to_date";

/** The refresh-order extension's own field table (core's table holds the shared protocol only). */
export const refreshOrderDatabag = defineDatabag({
  refreshOrder: databagField(REFRESH_ORDER_KEY, z.array(z.string()), "a JSON list of unit names"),
});

const REFRESH_ACTIONS = new Set<string>(Object.values(RefreshAction));

/** What `refreshSnap` receives. */
export interface SnapRefreshRequest {
  /** The workload snap, from `refresh_versions.toml`. */
  readonly snapName: string;
  /** The revision to install: this unit's pinned revision. */
  readonly snapRevision: string;
  /** The refresh object: call `refresh.updateSnapRevision()` straight after the snap operation. */
  readonly refresh: Machines;
  /**
   * A snapd client that refuses a second refresh within this call (the library retries when
   * a retry is right). Using it is optional but lets the library enforce that rule.
   */
  readonly snapd: Pick<SnapdClient, "installedRevision" | "refresh">;
}

/**
 * What a machine charm tells the library about itself. Callbacks may run in any event,
 * including unrelated actions of the charm.
 */
export interface MachinesCharmSpecific {
  /** Human-readable workload name, e.g. `PostgreSQL`. With the workload version, at most 43 characters. */
  readonly workloadName: string;
  /** The charm's name in `metadata.yaml` (used in the documentation link). */
  readonly charmName: string;
  /**
   * Checks that the application is healthy and ready to refresh, and makes any preparations;
   * throws `PrecheckFailed` with a short message when it is not. Runs from the
   * `pre-refresh-check` action and on the first unit of a refresh, on every event until it
   * passes, so it must be idempotent and cheap.
   */
  runPreRefreshChecksBeforeAnyUnitsRefreshed(): Promise<void>;
  /**
   * Whether refreshing from the original versions to the new ones is supported (core's
   * `IsCompatible`, allowed to be async). Defaults to core's `isCompatibleByDefault`; an
   * override should call it and add workload rules. It must return true when the old and
   * new versions are equal, and may return a `CompatibilityResult` that says why not.
   */
  isCompatible?(input: CompatibilityInput): boolean | CompatibilityResult | Promise<boolean | CompatibilityResult>;
  /**
   * The refresh order, first to refresh first, as a permutation of `units` (for example the
   * workload's primary last). It must give the same answer on every unit for the same peers.
   * It is asked until the refresh starts; the order is then fixed for that refresh, stored
   * where every unit reads it, and survives leader changes. Units added later go first.
   * Defaults to the highest unit number first.
   */
  refreshOrder?(units: readonly string[]): readonly string[] | Promise<readonly string[]>;
  /**
   * Refreshes (or, on a unit added during a refresh, installs) the workload snap. Contract:
   * 1. stop the workload gracefully if it runs;
   * 2. refresh `snapName` to exactly `snapRevision`, once: never retry here (the library
   *    calls again when a retry is right, which matters if the user rolls back meanwhile);
   * 3. straight after the snap operation, call `refresh.updateSnapRevision()`, also when the
   *    operation failed but the revision changed;
   * 4. on failure, restart the workload if the revision did not change, then throw, so the
   *    event fails and Juju delivers more events.
   * After it returns, start the workload, check the unit and application, and when both are
   * healthy call `refresh.allowNextUnitToRefresh()`; retry that on every later event until it
   * succeeds. The library enforces 2 (through `snapd`) and 3 by throwing.
   */
  refreshSnap(request: SnapRefreshRequest): Promise<void>;
}

/** Options of {@link Machines.create}, for tests and tools; charms need none. */
export interface MachinesOptions {
  /** The snapd client. @default a client on `snapdSocketPath(context.environment)` */
  readonly snapd?: SnapdClient;
  /** `uname -m` architecture whose pinned revision applies. @default os.machine() */
  readonly architecture?: string;
  /** Options for snap refreshes made through `SnapRefreshRequest.snapd`. */
  readonly snapRefresh?: SnapRefreshOptions;
}

/** The charm broke the `refreshSnap` contract (see {@link MachinesCharmSpecific.refreshSnap}). */
export class RefreshSnapContractViolated extends RefreshError {
  constructor(detail: string) {
    super("REFRESH_SNAP_CONTRACT_VIOLATED", `refreshSnap ${detail}; this is a bug in the charm, contact its developers`, {
      resolution: "fix the charm's refreshSnap so it follows the contract documented on MachinesCharmSpecific.refreshSnap",
    });
  }
}

/** The charm passed the library something it cannot work with (a bug in the charm). */
export class MachinesCharmInvalid extends RefreshError {
  constructor(detail: string) {
    super("MACHINES_CHARM_INVALID", `${detail}; this is a bug in the charm, contact its developers`);
  }
}

/** Thrown when a required snap is not installed (for example by `updateSnapRevision()`). */
export class SnapNotInstalled extends RefreshError {
  constructor(snap: string) {
    super("SNAP_NOT_INSTALLED", `snap "${snap}" is not installed; install it (with pinnedSnapRevision) before calling updateSnapRevision()`);
  }
}

/** The original versions as machines uses them: the snap always matched its pin. */
interface OriginalVersions {
  readonly workloadVersion: string;
  readonly snapRevision: string;
  readonly charmVersion: CharmVersion;
  readonly charmRevision: string;
}

type Raw = Record<string, string>;

function describeCharm(rawCharmRevision: string, charmVersion: CharmVersion | string): string {
  const revision = charmhubRevision(rawCharmRevision);
  return revision === undefined ? `charm ${charmVersion}` : `charm revision ${revision} (${charmVersion})`;
}

function describeSnap(workloadName: string, workloadVersion: string, snapRevision: string): string {
  return `${workloadName} ${workloadVersion} (snap revision ${snapRevision})`;
}

/** Workload, snap and charm of one set of versions, as every log line about a refresh names them. */
function describeVersions(workloadName: string, versions: OriginalVersions): string {
  return `${describeSnap(workloadName, versions.workloadVersion, versions.snapRevision)} and ${describeCharm(versions.charmRevision, versions.charmVersion)}`;
}

/**
 * The machines substrate: gates which unit may refresh its workload snap, and when. Create
 * it once per event with {@link Machines.create}, as early as possible; all the refresh work
 * of the event (databag writes, statuses, action results, possibly `refreshSnap`) happens
 * while it is created.
 *
 * `create` throws `UnitTearingDown` when the unit is being removed, and
 * `PeerRelationNotReady` until the peer relation exists and every planned unit has joined
 * it; then the charm must neither install nor start the workload.
 */
export class Machines implements Common {
  readonly #run: CharmRun;
  readonly #charm: MachinesCharmSpecific;
  readonly #snapd: SnapdClient;
  readonly #snapRefreshOptions: SnapRefreshOptions;
  readonly #local: LocalState;
  readonly #pinned: PinnedVersions;
  readonly #rawCharmRevision: string;
  #history!: CharmCodeRefreshHistory;
  #codeConfirmed = false;
  #relation: RelationId | undefined;
  #own: Raw = {};
  #peers = new Map<string, Raw>();
  #peerOrder: string[] = [];
  #pendingWrites: DatabagChanges = {};
  #leader: boolean | undefined;
  #appDatabag: Raw | undefined;
  #refreshStarted = false;
  #adoptedOrder: string[] | undefined;
  #state: Tristate = "FALSE";
  #completedThisEvent = false;
  #pause: PauseSetting = parsePauseAfterUnitRefresh(undefined);
  #order: string[] = [];
  #appStatus: Status | undefined;
  #unitStatusHigher: Status | undefined;
  #creating = true;
  readonly #reportedProblems = new Set<string>();
  /**
   * Decoded views of the databags this event holds, keyed by the raw record: the next-unit
   * choice, the in-progress check and the summary each read every unit, several times per
   * event. `#queueOwn` drops the own entry whenever it changes the own record in place.
   */
  readonly #decoded = new WeakMap<Raw, PublishedUnitState>();

  private constructor(run: CharmRun, charm: MachinesCharmSpecific, options: MachinesOptions, pinned: PinnedVersions, local: LocalState) {
    this.#run = run;
    this.#charm = charm;
    this.#snapd = options.snapd ?? new SnapdClient({ socketPath: snapdSocketPath(run.context.environment) });
    this.#snapRefreshOptions = options.snapRefresh ?? {};
    this.#local = local;
    this.#rawCharmRevision = readRawCharmRevision(run.context.charmDir);
    this.#pinned = pinned;
  }

  /**
   * Runs this event's share of the refresh and returns the object the charm queries.
   * Call exactly once per event.
   */
  static async create(run: CharmRun, charmSpecific: MachinesCharmSpecific, options: MachinesOptions = {}): Promise<Machines> {
    if (typeof charmSpecific?.refreshSnap !== "function" || typeof charmSpecific.runPreRefreshChecksBeforeAnyUnitsRefreshed !== "function") {
      throw new MachinesCharmInvalid("Machines.create needs refreshSnap and runPreRefreshChecksBeforeAnyUnitsRefreshed callbacks");
    }
    const local = new LocalState(run.context.charmDir);
    await Machines.#checkTearingDown(run, local);
    const pinned = await readPinnedVersions(run.context.charmDir, options.architecture);
    checkWorkloadNameLength(charmSpecific.workloadName, pinned.workloadVersion);
    const refresh = new Machines(run, charmSpecific, options, pinned, local);
    await refresh.#runEvent();
    refresh.#creating = false;
    return refresh;
  }

  // ---------------------------------------------------------------------------------------
  // Public members (Common)

  /** A refresh is in progress, or the library cannot tell yet; also true in the event that completed it (with several units). */
  get inProgress(): boolean {
    return this.#state !== "FALSE" || (this.#completedThisEvent && this.#unitNames().length > 1);
  }

  /** This unit declared itself healthy on its installed snap revision. */
  get nextUnitAllowedToRefresh(): boolean {
    return this.#ownPublished().nextUnitAllowedToRefresh;
  }

  /**
   * Declares this unit healthy on its installed snap revision. Throws if the published
   * revision is not the installed one: call `updateSnapRevision()` after every snap change.
   */
  async allowNextUnitToRefresh(): Promise<void> {
    const installed = await this.#snapd.installedRevision(this.#pinned.snapName);
    const published = this.#ownPublished().installedSnapRevision ?? null;
    if (installed !== published) {
      throw new RefreshSnapContractViolated(
        `left the published snap revision (${published ?? "none"}) behind the installed one (${installed ?? "none"}): call updateSnapRevision() straight after the snap operation, before allowNextUnitToRefresh()`,
      );
    }
    if (this.nextUnitAllowedToRefresh) return;
    this.#run.log.info(
      `Unit healthy on snap revision ${installed ?? "(not installed)"}: the next unit may refresh, subject to pause-after-unit-refresh and resume-refresh`,
    );
    this.#setOwn({ nextUnitAllowedToRefresh: true });
    await this.#flushIfCreated();
  }

  /** Always true on machines: the library gates snap refreshes instead of workload starts. */
  get workloadAllowedToStart(): boolean {
    return true;
  }

  /** The app status the refresh needs (leader only), or undefined: then the charm sets its own in this event. */
  get appStatusHigherPriority(): Status | undefined {
    return this.#appStatus;
  }

  /** Set only while the first unit's automatic pre-refresh check fails. */
  get unitStatusHigherPriority(): Status | undefined {
    return this.#unitStatusHigher;
  }

  /** A unit status for when the charm has nothing more specific to show; undefined when no refresh is in progress. */
  unitStatusLowerPriority(options: { workloadIsRunning?: boolean } = {}): Status | undefined {
    if (this.#state === "FALSE") return undefined;
    if (!this.#codeConfirmed) return WAITING_FOR_CONFIRMING_EVENT;
    return lowerPriorityUnitStatus({
      workloadName: this.#charm.workloadName,
      installedWorkloadVersion: this.#local.readWorkloadVersion(),
      workloadIsRunning: options.workloadIsRunning ?? true,
      installedSnapRevision: this.#ownPublished().installedSnapRevision ?? null,
      pinnedSnapRevision: this.#pinned.snapRevision,
      charmhubRevision: charmhubRevision(this.#rawCharmRevision),
      charmVersion: this.#pinned.charmVersion.toString(),
    });
  }

  /** Units in refresh order with their snap revision state, and the unit to refresh next. */
  get summary(): RefreshSummary {
    const basis = this.#basis();
    const units = this.#order.map((name) => {
      const peer = this.#unit(name);
      return {
        name,
        charmRevision: peer.published.lastRefreshToUpToDateCharmCode?.charmRevision,
        workloadVersion: name === this.#run.context.unitName ? this.#local.readWorkloadVersion() : undefined,
        upToDate: isUpToDate(peer, this.#pinned.snapRevision, basis),
        healthy: peer.published.nextUnitAllowedToRefresh,
      };
    });
    const next = this.#state === "TRUE" ? this.#nextUnit()?.name : undefined;
    return { inProgress: this.inProgress, units, nextUnit: next };
  }

  /** The snap revision this unit's charm code pins. Use it only for the first install, never to refresh. */
  get pinnedSnapRevision(): string {
    return this.#pinned.snapRevision;
  }

  /**
   * Publishes the installed snap revision. Call it straight after every snap install or
   * refresh the charm makes; throws `SnapNotInstalled` if the snap is not installed.
   */
  async updateSnapRevision(): Promise<void> {
    await this.#syncSnapRevision(true);
    await this.#flushIfCreated();
  }

  // ---------------------------------------------------------------------------------------
  // The event pipeline

  static async #checkTearingDown(run: CharmRun, local: LocalState): Promise<void> {
    const { context } = run;
    if (context.event.kind === "hook" && context.event.name.endsWith("-relation-departed") && context.departingUnit === context.unitName) {
      local.mark(LocalFile.machinesUnitTearingDown);
    }
    if (!local.has(LocalFile.machinesUnitTearingDown)) return;
    if (context.event.kind === "action" && REFRESH_ACTIONS.has(context.event.name)) {
      await run.tools.actionFail("This unit is being removed (scale-down); run the action on another unit");
    }
    if (!local.has(LocalFile.machinesUnitTearingDownLogged)) {
      run.log.info("This unit is being removed: the refresh no longer manages it");
      local.mark(LocalFile.machinesUnitTearingDownLogged);
    }
    throw new UnitTearingDown();
  }

  async #runEvent(): Promise<void> {
    const { tools } = this.#run;
    this.#loadHistory();
    // Setting the workload version needs nothing that follows and nothing that follows needs
    // it: it runs alongside the rest of the event, and it has ended, its failure raised, before
    // anything changes the snap, the statuses or the databags.
    await alongside(this.#codeConfirmed ? tools.applicationVersionSet(this.#pinned.workloadVersion) : Promise.resolve(), (versionSet) =>
      this.#runEventSteps(versionSet),
    );
  }

  /** The event's steps; `versionSet` is the workload version being set meanwhile. */
  async #runEventSteps(versionSet: Promise<PromiseSettledResult<void>>): Promise<void> {
    const { context, log } = this.#run;
    const { tools } = this.#run;
    // Independent reads go out together (each hook tool is a process start, unless dispatch
    // prefetched it; the snapd read overlaps with them). Results are used, and errors raised,
    // in the order the steps below need them.
    const [relations, config, installed] = await Promise.allSettled([
      tools.relationIds(PEER_RELATION_NAME),
      tools.configGet(),
      this.#snapd.installedRevision(this.#pinned.snapName),
      this.#isLeader(),
    ]);

    const relation = settledValue(relations)[0];
    if (relation === undefined) throw new PeerRelationNotReady(`the ${PEER_RELATION_NAME} peer relation does not exist yet`);
    this.#relation = relation;
    const [peerOrder, own] = await Promise.allSettled([tools.relationList(relation), tools.relationGet(relation, { unit: context.unitName })]);
    this.#peerOrder = settledValue(peerOrder);
    this.#own = { ...settledValue(own) };
    const peerData = await Promise.allSettled(this.#peerOrder.map((peer) => tools.relationGet(relation, { unit: peer })));
    for (const [index, peer] of this.#peerOrder.entries()) {
      const data = peerData[index];
      // A private copy, so the decode cache keyed by it cannot outlive a change made elsewhere.
      if (data !== undefined) this.#peers.set(peer, { ...settledValue(data) });
    }

    this.#refreshStarted = this.#local.has(LocalFile.machinesRefreshStarted);
    const presumedFrom = this.#codeConfirmed && !this.#refreshStarted ? this.#learnRefreshStarted() : undefined;
    this.#publishLocalState();
    await this.#syncSnapRevision(false, settledValue(installed));

    if (!this.#local.has(LocalFile.machinesPeerRelationInitialized)) {
      const planned = await this.#plannedUnits();
      const joined = this.#unitNames().length;
      if (planned !== joined) {
        settledValue(await versionSet);
        await this.#flush();
        throw new PeerRelationNotReady(`${joined} of ${planned} planned units have joined the ${PEER_RELATION_NAME} peer relation`);
      }
      this.#local.mark(LocalFile.machinesPeerRelationInitialized);
      log.info(`All ${planned} units have joined the ${PEER_RELATION_NAME} peer relation`);
    }

    this.#state = this.#determineInProgress();
    if (presumedFrom !== undefined && this.#state !== "FALSE") {
      log.info(`Presuming the refresh has started, as unit ${presumedFrom} says so (this unit is new and cannot check that unit's data yet)`);
    }
    this.#pause = parsePauseAfterUnitRefresh(settledValue(config)[PAUSE_AFTER_UNIT_REFRESH]);

    settledValue(await versionSet);
    if (this.#isAction("pre-refresh-check")) await this.#preRefreshCheckAction();
    this.#order = await this.#computeOrder();
    const force = await this.#startRefresh();
    await this.#updateAppStatus();
    await this.#refreshUnit(force);

    const before = this.#state;
    this.#state = this.#determineInProgress();
    this.#completedThisEvent = before === "TRUE" && this.#state === "FALSE";
    if (this.#completedThisEvent) log.info("The refresh completed in this event");
    await this.#updateAppStatus();

    if (this.#state === "FALSE") {
      this.#setOwn({ unusedLastCompletedRefresh: this.#history.last });
      if (await this.#isLeader()) await this.#saveOriginalVersions();
    }
    await this.#flush();
  }

  /** Loads or creates the history and applies the charm-code change detection. */
  #loadHistory(): void {
    const { context, log } = this.#run;
    const mtime = charmFileMtime(context.charmDir);
    const described = describeCharm(this.#rawCharmRevision, this.#pinned.charmVersion);
    let history = this.#local.readHistory();
    if (history === undefined) {
      history = { last: { charmRevision: this.#rawCharmRevision, timeOfRefresh: mtime }, secondToLast: null };
      this.#local.writeHistory(history);
      log.info(`Recorded the install of ${described} at ${new Date(mtime * 1000).toISOString()}`);
    }
    if (history.last.timeOfRefresh !== mtime) {
      // Every new `juju refresh` starts afresh: checks and order are decided again.
      this.#local.remove(LocalFile.machinesRefreshStarted);
      this.#local.remove(REFRESH_ORDER_FILE);
      const event = context.event;
      if (event.kind === "hook" && (event.name === "upgrade-charm" || event.name === "config-changed")) {
        const previous = history.last;
        history = { last: { charmRevision: this.#rawCharmRevision, timeOfRefresh: mtime }, secondToLast: previous };
        this.#local.writeHistory(history);
        log.info(
          `Charm code refreshed to ${described} at ${new Date(mtime * 1000).toISOString()}, confirmed up to date (previous confirmed refresh at ${new Date(previous.timeOfRefresh * 1000).toISOString()})`,
        );
      } else {
        log.info(`Charm code refreshed to ${described}; it may be outdated until an upgrade-charm or config-changed event confirms it`);
        log.warning(
          "Juju replaced the charm code without an upgrade-charm event (Juju bug LP 2068500), so this unit cannot trust it yet and will not refresh its snap. " +
            "Juju normally sends config-changed soon; if this lasts over 5 minutes, contact the charm's developers. Workaround: " +
            "`juju config <app> pause-after-unit-refresh=invalid`, then set it back to `all` (each change sends config-changed)",
        );
      }
    }
    this.#history = history;
    this.#codeConfirmed = history.last.timeOfRefresh === mtime;
  }

  /** Refresh-started propagation: returns the unit a presumption came from, if any. */
  #learnRefreshStarted(): string | undefined {
    const basis = this.#basis();
    for (const name of this.#peerOrder) {
      const peer = this.#unit(name);
      if (!peer.published.refreshStarted || peer.published.lastRefreshToUpToDateCharmCode === undefined) continue;
      const verdict = freshness(peer, basis);
      if (verdict === "FALSE") continue;
      this.#refreshStarted = true;
      this.#adoptedOrder = peer.published.refreshOrder === undefined ? undefined : [...peer.published.refreshOrder];
      if (verdict === "UNKNOWN") return name;
      this.#run.log.info(
        `Unit ${name} says the refresh to ${this.#describeNewVersions()} has started`,
      );
      this.#markRefreshStarted(this.#adoptedOrder);
      return undefined;
    }
    return undefined;
  }

  #markRefreshStarted(order: readonly string[] | undefined): void {
    this.#refreshStarted = true;
    this.#local.mark(LocalFile.machinesRefreshStarted);
    if (order === undefined) this.#local.remove(REFRESH_ORDER_FILE);
    else this.#local.writeRefreshOrder(order);
    this.#publishLocalState();
  }

  /** Mirrors local files into the own databag (they survive failed hooks; databag writes do not). */
  #publishLocalState(): void {
    const started = this.#local.has(LocalFile.machinesRefreshStarted);
    this.#setOwn({ refreshStarted: started, lastRefreshToUpToDateCharmCode: this.#history.last });
    const order = started ? this.#local.readRefreshOrder() : undefined;
    this.#setOwnRefreshOrder(order ?? REMOVE);
  }

  /** `known`: the installed revision when the caller already read it in this event, with no snap change since. */
  async #syncSnapRevision(raiseIfNotInstalled: boolean, known?: string | null): Promise<void> {
    const installed = known === undefined ? await this.#snapd.installedRevision(this.#pinned.snapName) : known;
    if (installed === null && raiseIfNotInstalled) throw new SnapNotInstalled(this.#pinned.snapName);
    const published = this.#ownPublished().installedSnapRevision ?? null;
    if (installed === published) return;
    const { log } = this.#run;
    log.info(installed === null ? `Snap ${this.#pinned.snapName} is not installed` : `Snap ${this.#pinned.snapName} is at revision ${installed}`);
    this.#setOwn({ nextUnitAllowedToRefresh: false });
    if (installed === null) {
      this.#setOwn({ installedSnapRevision: REMOVE });
      this.#local.remove(LocalFile.machinesInstalledWorkloadVersion);
      return;
    }
    this.#setOwn({ installedSnapRevision: installed });
    if (installed === this.#pinned.snapRevision) {
      this.#local.writeWorkloadVersion(this.#pinned.workloadVersion);
    } else {
      log.warning(
        `Snap ${this.#pinned.snapName} revision ${installed} is installed, but this charm revision pins ${this.#pinned.snapRevision}. ` +
          "That is expected after an error was resolved with `juju refresh`; a manual `snap refresh` is unsupported and may not recover",
      );
      this.#local.remove(LocalFile.machinesInstalledWorkloadVersion);
    }
  }

  async #plannedUnits(): Promise<number> {
    const goal: GoalState = await this.#run.tools.goalState();
    const principal = this.#run.context.environment["JUJU_PRINCIPAL_UNIT"] ?? "";
    const live = (units: Readonly<Record<string, { readonly status: string }>>) => Object.values(units).filter((unit) => unit.status !== "dying").length;
    if (principal === "") return live(goal.units);
    const principalApp = principal.slice(0, principal.indexOf("/"));
    const perEndpoint = Object.values(goal.relations)
      .map((entries) => Object.fromEntries(Object.entries(entries).filter(([key]) => key.startsWith(`${principalApp}/`))))
      .filter((entries) => Object.keys(entries).length > 0);
    const first = perEndpoint[0];
    if (first === undefined) throw new MachinesCharmInvalid(`goal-state lists no units of the principal application ${principalApp}`);
    const canonical = (entries: Record<string, { readonly status: string; readonly since?: string }>) =>
      JSON.stringify(Object.keys(entries).sort().map((key) => [key, entries[key]?.status, entries[key]?.since]));
    if (perEndpoint.some((entries) => canonical(entries) !== canonical(first))) {
      throw new MachinesCharmInvalid(`goal-state lists different units of the principal application ${principalApp} on different endpoints`);
    }
    return live(first);
  }

  #determineInProgress(): Tristate {
    return determineInProgress(
      this.#unitNames().map((name) => this.#unit(name)),
      this.#pinned.snapRevision,
      this.#basis(),
    );
  }

  async #computeOrder(): Promise<string[]> {
    const units = this.#unitNames();
    const fixed = this.#refreshStarted ? (this.#local.has(LocalFile.machinesRefreshStarted) ? this.#local.readRefreshOrder() : this.#adoptedOrder) : undefined;
    if (fixed !== undefined) return applyFixedOrder(fixed, units);
    if (this.#charm.refreshOrder === undefined) return defaultRefreshOrder(units);
    const order = [...(await this.#charm.refreshOrder(units))];
    const problem = refreshOrderProblem(order, units);
    if (problem !== undefined) throw new MachinesCharmInvalid(`refreshOrder returned [${order.join(", ")}], but ${problem}`);
    return order;
  }

  // ---------------------------------------------------------------------------------------
  // Actions and the refresh itself

  async #preRefreshCheckAction(): Promise<void> {
    const { tools, context, log } = this.#run;
    if (this.#state !== "FALSE") {
      await tools.actionFail("A refresh is already in progress (or may be); the pre-refresh check runs only before `juju refresh`");
      return;
    }
    if (!(await this.#isLeader())) {
      await tools.actionFail(`Run this action on the leader unit: juju run ${context.appName}/leader pre-refresh-check`);
      return;
    }
    try {
      await this.#charm.runPreRefreshChecksBeforeAnyUnitsRefreshed();
    } catch (error) {
      if (!(error instanceof PrecheckFailed)) throw error;
      await tools.actionFail(`The charm is not ready to refresh: pre-refresh check failed: ${error.message}`);
      return;
    }
    const result = [
      `The charm is ready to refresh. Refresh instructions: https://charmhub.io/${this.#charm.charmName}/docs/refresh/${this.#pinned.charmVersion}`,
      `Once the refresh has started, roll back with:\n\`${rollbackCommand(charmhubRevision(this.#rawCharmRevision), context.appName)}\``,
      `${describePausePolicy(this.#pause)} The ${PAUSE_AFTER_UNIT_REFRESH} config option sets this; see \`juju config ${context.appName}\` for details.`,
    ].join("\n\n");
    await tools.actionSet({ result });
    log.info("Pre-refresh check succeeded");
  }

  /**
   * Parses the action's parameters with core's parser (the one the Kubernetes substrate uses),
   * so both substrates accept and refuse the same parameters with the same words; a refusal
   * fails the action instead of the hook.
   */
  async #actionParams<T>(parse: (raw: unknown) => T): Promise<T | undefined> {
    const raw = await this.#run.tools.actionGet();
    try {
      return parse(raw);
    } catch (error) {
      if (!(error instanceof RefreshError)) throw error;
      await this.#run.tools.actionFail(error.message.replaceAll("<app>", this.#run.context.appName));
      return undefined;
    }
  }

  #stateMessage(): string {
    return this.#state === "UNKNOWN"
      ? "Still determining whether a refresh is in progress; check `juju status` and retry in a few minutes"
      : "No refresh is in progress";
  }

  /** Start of the refresh on the first unit; returns a validated force-refresh-start action, if any. */
  async #startRefresh(): Promise<ForceRefreshStartParameters | undefined> {
    const { tools, log, context } = this.#run;
    const self = context.unitName;
    const first = this.#order[0];
    let force: ForceRefreshStartParameters | undefined;
    if (this.#isAction("force-refresh-start")) {
      if (self !== first) await tools.actionFail(`Run this action on unit ${first === undefined ? "?" : unitNumber(first)}, the first unit to refresh`);
      else if (this.#state !== "TRUE") await tools.actionFail(this.#stateMessage());
      else {
        const params = await this.#actionParams(parseForceRefreshStartParameters);
        if (params !== undefined) {
          if (!forceRefreshStartSkipsAnyCheck(params)) {
            await tools.actionFail(`Set at least one of the parameters to false; see \`juju show-action ${context.appName} force-refresh-start\``);
          } else force = params;
        }
      }
    }
    this.#unitStatusHigher = undefined;
    if (this.#state !== "TRUE" || self !== first) return undefined;
    if (!this.#codeConfirmed) {
      if (force !== undefined) await tools.actionFail(`This unit is ${WAITING_FOR_CONFIRMING_EVENT.message.toLowerCase()}`);
      return undefined;
    }
    const original = await this.#originalVersions();
    const to = this.#describeNewVersions();
    if (!this.#refreshStarted && this.#isRollback(original)) {
      log.info(`Rollback detected: skipping the automatic checks; refresh started; rolling back to ${to}`);
      this.#startWithOrder();
    }
    if (this.#refreshStarted) {
      if (force !== undefined) await tools.actionFail(`The refresh has already started on unit ${unitNumber(self)}; nothing to force`);
      return undefined;
    }
    const from = describeVersions(this.#charm.workloadName, original);
    const skipped = force === undefined ? "" : ` (forced with ${skippedChecks(force).join(", ")})`;
    log.info(`Attempting to start the refresh from ${from} to ${to}${skipped}`);
    if (force !== undefined) {
      await tools.actionLog(
        force.checkWorkloadContainer
          ? "Workload check passed: the snap revision is the one this charm pins"
          : "Skipped the workload check (it always passes on machines: the charm pins the snap revision)",
      );
    }
    if (force !== undefined && !force.checkCompatibility) {
      await tools.actionLog("Skipped the compatibility check");
    } else {
      const compatibility = await this.#compatible(original);
      if (!compatibility.compatible) {
        log.info(`Refresh incompatible: ${to} is not compatible with ${from}: ${compatibility.message}`);
        if (force !== undefined) await tools.actionFail("The refresh is incompatible; roll back with `juju refresh`");
        return undefined;
      }
      if (force !== undefined) await tools.actionLog("Compatibility check passed");
    }
    if (force !== undefined && !force.runPreRefreshChecks) {
      await tools.actionLog("Skipped the pre-refresh checks");
    } else {
      if (force !== undefined) await tools.actionLog("Running the pre-refresh checks");
      try {
        await this.#charm.runPreRefreshChecksBeforeAnyUnitsRefreshed();
      } catch (error) {
        if (!(error instanceof PrecheckFailed)) throw error;
        this.#unitStatusHigher = precheckFailedStatus(error.message);
        await tools.statusSet({ status: this.#unitStatusHigher.kind, message: this.#unitStatusHigher.message });
        log.error(
          `Pre-refresh check failed: ${error.message}. Roll back with \`juju refresh\`: going on risks data loss and downtime. ` +
            `To refresh anyway, run force-refresh-start with run-pre-refresh-checks=false on this unit (see \`juju show-action ${context.appName} force-refresh-start\`)`,
        );
        if (force !== undefined) await tools.actionFail(`Pre-refresh check failed: ${error.message}. Roll back with \`juju refresh\``);
        return undefined;
      }
      if (force !== undefined) await tools.actionLog("Pre-refresh checks passed");
    }
    log.info(`Automatic checks ${force === undefined ? "passed" : "passed or skipped"}; refresh started; refreshing ${this.#charm.workloadName} on this unit to ${to}`);
    this.#startWithOrder();
    return force;
  }

  /** The versions this unit's charm code pins, described as in the log lines. */
  #describeNewVersions(): string {
    return describeVersions(this.#charm.workloadName, {
      workloadVersion: this.#pinned.workloadVersion,
      snapRevision: this.#pinned.snapRevision,
      charmVersion: this.#pinned.charmVersion,
      charmRevision: this.#rawCharmRevision,
    });
  }

  #startWithOrder(): void {
    this.#markRefreshStarted(this.#charm.refreshOrder === undefined ? undefined : this.#order);
  }

  #isRollback(original: OriginalVersions): boolean {
    // The version string alone would take two builds with one version (local or dev charms)
    // for a rollback and skip the checks; the raw revision and the pinned snap must agree too.
    return (
      this.#pinned.charmVersion.equals(original.charmVersion) &&
      original.charmRevision === this.#rawCharmRevision &&
      original.snapRevision === this.#pinned.snapRevision
    );
  }

  async #compatible(original: OriginalVersions): Promise<CompatibilityResult> {
    const input: CompatibilityInput = {
      oldCharmVersion: original.charmVersion,
      newCharmVersion: this.#pinned.charmVersion,
      oldWorkloadVersion: original.workloadVersion,
      newWorkloadVersion: this.#pinned.workloadVersion,
    };
    if (this.#charm.isCompatible === undefined) return isCompatibleByDefault(input);
    return toCompatibilityResult(await this.#charm.isCompatible(input), input);
  }

  async #refreshUnit(force: ForceRefreshStartParameters | undefined): Promise<void> {
    const { tools, log, context } = this.#run;
    const self = context.unitName;
    let resume: ResumeRefreshParameters | undefined;
    if (this.#isAction("resume-refresh")) resume = await this.#actionParams(parseResumeRefreshParameters);
    if (this.#state !== "TRUE") {
      if (resume !== undefined) await tools.actionFail(this.#stateMessage());
      return;
    }
    const installed = await this.#snapd.installedRevision(this.#pinned.snapName);
    const workloadVersion = this.#local.readWorkloadVersion();
    const fromText = installed === null ? "no snap" : `${workloadVersion === undefined ? "" : `${this.#charm.workloadName} ${workloadVersion} `}(snap revision ${installed})`;
    const change = `${fromText} to ${describeSnap(this.#charm.workloadName, this.#pinned.workloadVersion, this.#pinned.snapRevision)}`;
    const number = unitNumber(self);

    if (resume !== undefined && !resume.checkHealthOfRefreshedUnits) {
      if (installed === this.#pinned.snapRevision) {
        await tools.actionFail(`Unit ${number} is already refreshed`);
        return;
      }
      await tools.actionLog("Ignoring the health of refreshed units");
      await tools.actionLog(`Refreshing unit ${number}`);
      log.info(`Refreshing ${change} because resume-refresh ran with check-health-of-refreshed-units=false`);
      if (await this.#callRefreshSnap(true)) {
        log.info(`Refreshed ${change}`);
        await tools.actionSet({ result: `Refreshed unit ${number}` });
      } else {
        log.error(`Failed to refresh ${change}`);
        await tools.actionFail("The snap refresh failed; check `juju debug-log` and retry the action");
      }
      return;
    }

    const next = this.#nextUnit();
    if (next?.name !== self) {
      if (resume !== undefined) await tools.actionFail(`Run this action on unit ${next === undefined ? "?" : unitNumber(next.name)}, the next unit to refresh`);
      return;
    }
    if (resume !== undefined && this.#pause.policy === "none") {
      await tools.actionFail("pause-after-unit-refresh is none, so the refresh does not wait for resume-refresh");
      resume = undefined;
    }
    const first = this.#order[0] ?? self;
    if (!this.#refreshStarted) {
      if (resume !== undefined) await tools.actionFail(`Unit ${unitNumber(first)} is unhealthy; the refresh will not resume`);
      return;
    }
    const index = this.#order.indexOf(self);
    const unhealthy = firstUnhealthyBefore(this.#order.map((name) => this.#unit(name)), index, this.#pinned.snapRevision, this.#basis());
    if (unhealthy !== undefined) {
      if (resume !== undefined) await tools.actionFail(`Unit ${unitNumber(unhealthy.name)} is unhealthy; the refresh will not resume`);
      return;
    }
    let reason: string;
    if (resumeRequired(this.#pause, index)) {
      if (resume === undefined) return;
      reason = "resume-refresh ran";
    } else {
      if (resume !== undefined) {
        // On purpose: the unit refreshes anyway, and the user must not think the action did it.
        await tools.actionFail(`Unit ${number} is refreshing already; resume-refresh is not needed`);
        resume = undefined;
      }
      reason = index === 0 ? "it is the first unit to refresh" : `pause-after-unit-refresh is ${this.#pause.policy}${this.#pause.policy === "first" ? " and the second unit has refreshed" : ""}`;
    }
    if (installed === this.#pinned.snapRevision) return;
    if (resume !== undefined) await tools.actionLog(this.#pause.policy === "first" ? `Refresh resumed; refreshing unit ${number}` : `Refreshing unit ${number}`);
    if (force !== undefined) await tools.actionLog(`Refreshing unit ${number}`);
    log.info(`Refreshing ${change} because ${reason}`);
    const refreshed = await this.#callRefreshSnap(resume !== undefined || force !== undefined);
    if (refreshed) {
      log.info(`Refreshed ${change} because ${reason}`);
      if (resume !== undefined) await tools.actionSet({ result: this.#pause.policy === "first" ? `Refresh resumed; unit ${number} has refreshed` : `Refreshed unit ${number}` });
      if (force !== undefined) await tools.actionSet({ result: `Refreshed unit ${number}` });
    } else {
      log.error(`Failed to refresh ${change}`);
      if (resume !== undefined) await tools.actionFail("The snap refresh failed; check `juju debug-log` and retry the action");
      if (force !== undefined) {
        await tools.actionSet({ result: `Refresh started, but unit ${number} failed to refresh; it retries on the next Juju event` });
      }
    }
  }

  /** Calls the charm's refreshSnap once, enforcing its contract; returns whether the pinned revision is installed afterwards. */
  async #callRefreshSnap(forAction: boolean): Promise<boolean> {
    const name = this.#pinned.snapName;
    const revision = this.#pinned.snapRevision;
    const call = { calls: 0 };
    const snapd = this.#snapd;
    const options = this.#snapRefreshOptions;
    const guarded: SnapRefreshRequest["snapd"] = {
      installedRevision: (snap: string) => snapd.installedRevision(snap),
      refresh: async (snap: string, to: string, override?: SnapRefreshOptions) => {
        call.calls += 1;
        if (call.calls > 1) {
          throw new RefreshSnapContractViolated("tried to refresh the snap a second time in one call; the library retries on a later event when that is right");
        }
        await snapd.refresh(snap, to, { ...options, ...override });
      },
    };
    try {
      await this.#charm.refreshSnap({ snapName: name, snapRevision: revision, refresh: this, snapd: guarded });
    } catch (error) {
      if (forAction) await this.#run.tools.actionFail(`The snap refresh failed (${error instanceof Error ? error.message : String(error)}); check \`juju debug-log\` and retry`);
      throw error;
    }
    const installed = await snapd.installedRevision(name);
    const published = this.#ownPublished().installedSnapRevision ?? null;
    if (installed !== published) {
      await this.#syncSnapRevision(false, installed);
      throw new RefreshSnapContractViolated(
        `changed the snap to revision ${installed ?? "(none)"} without calling updateSnapRevision() straight after (published: ${published ?? "none"})`,
      );
    }
    return installed === revision;
  }

  async #updateAppStatus(): Promise<void> {
    if (!(await this.#isLeader())) return;
    let incompatible = false;
    let originalRevision: string | undefined;
    if (this.#state === "TRUE") {
      const original = await this.#originalVersions();
      originalRevision = charmhubRevision(original.charmRevision);
      if (!this.#refreshStarted && !this.#isRollback(original)) {
        incompatible = !(await this.#compatible(original)).compatible;
      }
    }
    const next = appStatus({
      appName: this.#run.context.appName,
      pause: this.#pause,
      state: this.#state,
      originalCharmhubRevision: originalRevision,
      incompatible,
      order: this.#order,
      nextUnit: this.#state === "TRUE" ? this.#nextUnit()?.name : undefined,
      defaultOrder: this.#charm.refreshOrder === undefined,
    });
    const previous = this.#appStatus;
    this.#appStatus = next;
    if (next === undefined || (previous?.kind === next.kind && previous.message === next.message)) return;
    if (incompatible && previous === undefined) {
      this.#run.log.info(
        `The refresh is incompatible: going on may cause data loss and downtime. To refresh anyway, run force-refresh-start with check-compatibility=false on unit ${unitNumber(this.#order[0] ?? "")} (see \`juju show-action ${this.#run.context.appName} force-refresh-start\`)`,
      );
    }
    await this.#run.tools.statusSet({ status: next.kind, message: next.message }, { application: true });
  }

  async #saveOriginalVersions(): Promise<void> {
    const relation = this.#relation;
    if (relation === undefined) return;
    const current = await this.#readAppDatabag();
    const changes = appDatabag.planWrite(
      current,
      originalVersionsUpdate({
        workloadMatchedPin: true,
        workloadVersion: this.#pinned.workloadVersion,
        workloadContainerVersion: this.#pinned.snapRevision,
        charmVersion: this.#pinned.charmVersion.toString(),
        charmRevision: this.#rawCharmRevision,
      }),
    );
    if (Object.keys(changes).length === 0) return;
    // One relation-set per key, as the Python library does, so both leave identical traces.
    for (const [key, text] of Object.entries(changes)) await this.#run.tools.relationSet(relation, { [key]: text }, { app: true });
    applyChanges(current, changes);
    this.#run.log.info(
      `Saved the versions for the next refresh: ${this.#describeNewVersions()}`,
    );
  }

  /** The original versions; throws core's `OriginalVersionsInvalid` when they are missing or invalid. */
  async #originalVersions(): Promise<OriginalVersions> {
    const original = readOriginalVersions(decodeAppDatabag(await this.#readAppDatabag(), this.#run.context.appName));
    if (!original.workloadMatchedPin) {
      // Machine charms pin their snap exactly, so the Python library and this one always store true.
      throw new OriginalVersionsInvalid([`"${AppKey.originalInstalledWorkloadContainerMatchedPinnedContainer}" is false, but a machine charm always installs its pinned snap`]);
    }
    return {
      workloadVersion: original.workloadVersion,
      snapRevision: original.workloadContainerVersion,
      // readOriginalVersions guarantees the text parses.
      charmVersion: new CharmVersionClass(original.charmVersion),
      charmRevision: original.charmRevision,
    };
  }

  async #readAppDatabag(): Promise<Raw> {
    if (this.#appDatabag === undefined && this.#relation !== undefined) {
      this.#appDatabag = { ...(await this.#run.tools.relationGet(this.#relation, { app: this.#run.context.appName })) };
    }
    return this.#appDatabag ?? {};
  }

  // ---------------------------------------------------------------------------------------
  // Peer view and own databag

  #unitNames(): string[] {
    return [this.#run.context.unitName, ...this.#peerOrder];
  }

  #basis(): FreshnessBasis {
    return { self: this.#run.context.unitName, rawCharmRevision: this.#rawCharmRevision, secondToLastRefresh: this.#history.secondToLast ?? undefined };
  }

  #nextUnit(): PeerUnit | undefined {
    return nextUnitToRefresh(this.#order.map((name) => this.#unit(name)), this.#pinned.snapRevision, this.#basis());
  }

  #unit(name: string): PeerUnit {
    const raw = name === this.#run.context.unitName ? this.#own : (this.#peers.get(name) ?? {});
    return { name, published: this.#decode(raw, name) };
  }

  #ownPublished(): PublishedUnitState {
    return this.#decode(this.#own, this.#run.context.unitName);
  }

  /** Decodes a unit databag; invalid values count as absent (a peer's garbage never crashes this hook). */
  #decode(raw: Raw, unit: string): PublishedUnitState {
    const cached = this.#decoded.get(raw);
    if (cached !== undefined) return cached;
    const shared = decodeMachinesUnitDatabag(raw, unit);
    const extension = refreshOrderDatabag.decode(raw, { unit });
    for (const problem of [...shared.problems, ...extension.problems]) {
      const key = `${unit} ${problem.key}`;
      if (this.#reportedProblems.has(key)) continue;
      this.#reportedProblems.add(key);
      this.#run.log.warning(problem.message);
    }
    const { values } = shared;
    const published: PublishedUnitState = Object.freeze({
      installedSnapRevision: values.installedSnapRevision,
      nextUnitAllowedToRefresh: values.nextUnitAllowedToRefresh === true,
      refreshStarted: values.refreshStarted === true,
      lastRefreshToUpToDateCharmCode: values.lastRefreshToUpToDateCharmCode,
      refreshOrder: extension.values.refreshOrder,
    });
    this.#decoded.set(raw, published);
    return published;
  }

  /** Queues writes of the own databag (core's table), skipping values that are already stored in any spelling. */
  #setOwn(update: DatabagUpdate<MachinesUnitFields>): void {
    this.#queueOwn(machinesUnitDatabag.planWrite(this.#own, update));
  }

  /** Queues the write of the refresh-order extension key. */
  #setOwnRefreshOrder(order: readonly string[] | typeof REMOVE): void {
    this.#queueOwn(refreshOrderDatabag.planWrite(this.#own, { refreshOrder: order === REMOVE ? REMOVE : [...order] }));
  }

  #queueOwn(changes: DatabagChanges): void {
    applyChanges(this.#own, changes);
    this.#decoded.delete(this.#own);
    Object.assign(this.#pendingWrites, changes);
  }

  async #flush(): Promise<void> {
    if (this.#relation === undefined || Object.keys(this.#pendingWrites).length === 0) return;
    const changes = this.#pendingWrites;
    this.#pendingWrites = {};
    await this.#run.tools.relationSet(this.#relation, changes);
  }

  async #flushIfCreated(): Promise<void> {
    // During create, writes are batched into one relation-set at the end; a snap refresh in
    // between is fine, since Juju commits relation writes only when the hook succeeds anyway.
    if (!this.#creating) await this.#flush();
  }

  async #isLeader(): Promise<boolean> {
    this.#leader ??= await this.#run.tools.isLeader();
    return this.#leader;
  }

  #isAction(name: string): boolean {
    const event = this.#run.context.event;
    return event.kind === "action" && event.name === name;
  }
}

/** Updates `raw` as Juju stores it after a relation-set of `changes` (null removes a key). */
function applyChanges(raw: Raw, changes: DatabagChanges): void {
  for (const [key, text] of Object.entries(changes)) {
    if (text === null) delete raw[key];
    else raw[key] = text;
  }
}
