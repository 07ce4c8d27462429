import { mkdir, readFile, rm, writeFile, access } from "node:fs/promises";
import { join } from "node:path";
import {
  LOCAL_STATE_DIR,
  LocalFile,
  PEER_RELATION_NAME,
  PeerRelationNotReady,
  PrecheckFailed,
  REMOVE,
  RefreshError,
  UnitTearingDown,
  appDatabag,
  charmhubRevision,
  checkWorkloadNameLength,
  isCompatibleByDefault,
  toCompatibilityResult,
  loadRefreshVersions,
  decodeAppDatabag,
  decodeKubernetesUnitDatabag,
  decodeTearingDownPodUidsFile,
  describePausePolicy,
  forceRefreshStartSkipsAnyCheck,
  parseForceRefreshStartParameters,
  skippedChecks,
  parseResumeRefreshParameters,
  publishedPauseValue,
  encodeTearingDownPodUidsFile,
  kubernetesUnitDatabag,
  originalVersionsUpdate,
  readOriginalVersions,
  alongside,
  settledValue,
  CharmVersion,
  RefreshAction,
  type AppFields,
  type CompatibilityInput,
  type CompatibilityResult,
  type Common,
  type DatabagChanges,
  type DatabagUpdate,
  type DatabagView,
  type DecodedDatabag,
  type ForceRefreshStartParameters,
  type KubernetesUnitFields,
  type PauseSetting,
  type OriginalVersions,
  type RefreshActionName,
  type RefreshSummary,
  type Status,
} from "@refresh/core";
import type { CharmRun, RelationId } from "@refresh/juju";
import type { KubernetesApi, PodState } from "./api.js";
import { installedImage, readCharmRevision, readWorkloadPin, type WorkloadPin } from "./charm-files.js";
import { connectInCluster } from "./connect.js";
import {
  decideRollout,
  effectivePausePolicy,
  gatingPolicy,
  rolloutAppStatusKind,
  workloadAllowedToStart,
  type PausePolicy,
  type RolloutDecision,
  type UnitView,
} from "./decisions.js";
import { CharmPackagingError, KubernetesApiError, KubernetesJujuAppNotTrusted } from "./errors.js";
import {
  incompatibleUnitStatus,
  lowerPriorityUnitStatus,
  notTrustedAppStatus,
  precheckFailedUnitStatus,
  rolloutAppStatus,
  wrongContainerUnitStatus,
} from "./statuses.js";

/**
 * What a Kubernetes charm tells the library about itself. Build it once per event and pass it
 * to {@link Kubernetes.create}.
 */
export interface CharmSpecificKubernetes {
  /** Human-readable upstream name, e.g. `PostgreSQL`; the same name the actions' descriptions use. */
  readonly workloadName: string;
  /** The charm's name in `metadata.yaml`, used in the documentation link. */
  readonly charmName: string;
  /** The `metadata.yaml` resource key of the workload's OCI image, e.g. `postgresql-image`. */
  readonly ociResourceName: string;
  /**
   * Health checks and preparations that stay valid while one unit has already refreshed and
   * its workload is down. Throw `PrecheckFailed` with a short message when one fails.
   */
  runPreRefreshChecksAfterFirstUnitRefreshed(): void | Promise<void>;
  /**
   * Checks that need every unit on the same version (run by the `pre-refresh-check` action
   * before `juju refresh`). Defaults to `runPreRefreshChecksAfterFirstUnitRefreshed`; an
   * override should call that one too.
   */
  runPreRefreshChecksBeforeAnyUnitsRefreshed?(): void | Promise<void>;
  /**
   * Whether refreshing from the old to the new versions is supported (core's `IsCompatible`
   * contract: runs on the new charm code, uses only its input, answers true when nothing
   * changed). Defaults to core's `isCompatibleByDefault`; an override usually calls it, then
   * adds workload rules. Return an `incompatible(...)` result to explain a refusal.
   */
  isCompatible?(input: CompatibilityInput): boolean | CompatibilityResult | Promise<boolean | CompatibilityResult>;
}

/** Options of {@link Kubernetes.create}, for tests and unusual environments. */
export interface KubernetesOptions {
  /**
   * How to reach the Kubernetes API server.
   * @default the in-cluster API server, as the pod's service account (see `connectInCluster`)
   */
  readonly api?: KubernetesApi;
  /**
   * The current time in seconds since the epoch (written only to wake the leader).
   * @default Date.now() / 1000
   */
  readonly now?: () => number;
}

const REFRESH_ACTIONS: ReadonlySet<string> = new Set(Object.values(RefreshAction));

interface PodUnit {
  readonly number: number;
  readonly unitName: string;
  readonly uid: string;
  readonly revision: string;
  readonly pod: PodState;
}

type UnitDatabag = { -readonly [K in keyof DatabagView<KubernetesUnitFields>]: DatabagView<KubernetesUnitFields>[K] };
type AppView = { -readonly [K in keyof DatabagView<AppFields>]: DatabagView<AppFields>[K] };

/**
 * The answer to one refresh action: at most one terminal outcome (fail or result), however
 * many code paths look at the action in the event.
 */
class ActionResponse {
  #answered = false;
  constructor(
    readonly name: RefreshActionName,
    private readonly run: CharmRun,
  ) {}

  async fail(message: string): Promise<void> {
    if (this.#answered) return;
    this.#answered = true;
    await this.run.tools.actionFail(message);
  }

  async result(message: string): Promise<void> {
    if (this.#answered) return;
    this.#answered = true;
    await this.run.tools.actionSet({ result: message });
  }

  async log(message: string): Promise<void> {
    if (this.#answered) return;
    await this.run.tools.actionLog(message);
  }
}

/**
 * In-place rolling refreshes of a Kubernetes charm.
 *
 * Create it with {@link Kubernetes.create} once per Juju event, as early as possible: all of
 * the event's refresh work (partition changes, checks on the highest unit, the three refresh
 * actions) happens while it is created. Afterwards the charm reads what it found:
 * never start the workload unless {@link workloadAllowedToStart}; once the workload runs
 * and is healthy, call {@link allowNextUnitToRefresh}; show the statuses it returns.
 *
 * `create` throws `KubernetesJujuAppNotTrusted` (leader: with a Blocked app status already
 * set), `UnitTearingDown` and `PeerRelationNotReady`, in that order of precedence; catch them
 * and exit the hook. Other errors (`KubernetesApiError`, `CharmPackagingError`,
 * `OriginalVersionsInvalid`) should fail the hook so Juju retries it.
 */
export class Kubernetes implements Common {
  readonly #run: CharmRun;
  readonly #charm: CharmSpecificKubernetes;
  readonly #api: KubernetesApi;
  readonly #now: () => number;

  // Facts captured once per event.
  #isLeader = false;
  #units: PodUnit[] = [];
  #self!: PodUnit;
  #appRevision = "";
  #partition = 0;
  #inProgress = false;
  #relationId: RelationId | undefined;
  #members = new Set<string>();
  #action: ActionResponse | undefined;
  #actionParams: Record<string, unknown> | undefined;
  #rawCharmRevision = "";
  #charmVersion!: CharmVersion;
  #pinnedWorkloadVersion = "";
  #pin!: WorkloadPin;
  #installedDigest: string | undefined;
  #installedImageName: string | undefined;
  #pauseConfigValue = "";
  #pausePolicy: PausePolicy = "unknown";
  #pauseSetting: PauseSetting | undefined;
  #originals: OriginalVersions | undefined;
  #rollbackCommand = "";
  #tearingDownUids = new Set<string>();
  #lastDecision: RolloutDecision | undefined;

  // Databags: what Juju stores, and the decoded view including this event's own writes.
  #ownRaw: Record<string, string> = {};
  #own: UnitDatabag = {};
  #ownTouched = new Set<keyof KubernetesUnitFields>();
  #peers = new Map<string, DecodedDatabag<KubernetesUnitFields>>();
  #appRaw: Record<string, string> = {};
  #app: AppView = {};
  #appTouched = new Set<keyof AppFields>();

  #appStatus: Status | undefined;
  #unitStatus: Status | undefined;

  private constructor(run: CharmRun, charm: CharmSpecificKubernetes, api: KubernetesApi, now: () => number) {
    this.#run = run;
    this.#charm = charm;
    this.#api = api;
    this.#now = now;
  }

  /**
   * Does the event's refresh work and returns what the charm needs to know.
   *
   * @param run the event (`CharmRun` from `runCharm`)
   * @param charmSpecific what the library needs to know about the charm
   * @throws {KubernetesJujuAppNotTrusted} the app needs `juju trust <app> --scope=cluster`
   * @throws {UnitTearingDown} this unit is being removed
   * @throws {PeerRelationNotReady} the peer relation does not exist yet
   */
  static async create(run: CharmRun, charmSpecific: CharmSpecificKubernetes, options: KubernetesOptions = {}): Promise<Kubernetes> {
    for (const field of ["workloadName", "charmName", "ociResourceName"] as const) {
      if (typeof charmSpecific[field] !== "string" || charmSpecific[field].trim() === "") {
        throw new TypeError(`CharmSpecificKubernetes.${field} must be a non-empty string`);
      }
    }
    // connectInCluster is imported statically on purpose: see its documentation.
    const api = options.api ?? (await connectInCluster({ environment: run.context.environment, appName: run.context.appName }));
    const refresh = new Kubernetes(run, charmSpecific, api, options.now ?? (() => Date.now() / 1000));
    await refresh.#handleEvent();
    return refresh;
  }

  // ---------------------------------------------------------------------------------------
  // Common

  /** A refresh is in progress: some pod is not on the StatefulSet's update revision. */
  get inProgress(): boolean {
    return this.#inProgress;
  }

  /** This unit declared itself healthy on the revision its pod runs now. */
  get nextUnitAllowedToRefresh(): boolean {
    return this.#own.nextUnitAllowedForRevision === this.#self.revision;
  }

  /** Whether this unit may start its workload. Never start it when this is false. */
  get workloadAllowedToStart(): boolean {
    return workloadAllowedToStart({
      inProgress: this.#inProgress,
      unitRevision: this.#self.revision,
      startedRevisions: this.#startedRevisions(),
      runsOriginalVersions: this.#runsOriginalVersions(),
    });
  }

  /** App status that beats every status of the charm's own (leader only), or undefined. */
  get appStatusHigherPriority(): Status | undefined {
    return this.#appStatus;
  }

  /** Unit status that beats every status of the charm's own (the highest unit while its checks fail), or undefined. */
  get unitStatusHigherPriority(): Status | undefined {
    return this.#unitStatus;
  }

  /** Workload version, charm revision and "restart pending" during a refresh; undefined otherwise. */
  unitStatusLowerPriority(options: { workloadIsRunning?: boolean } = {}): Status | undefined {
    if (!this.#inProgress) return undefined;
    return lowerPriorityUnitStatus({
      workloadName: this.#charm.workloadName,
      pinnedWorkloadVersion: this.#pinnedWorkloadVersion,
      installedDigest: this.#installedDigest,
      pinnedDigest: this.#pin.digest,
      charmhubRevision: charmhubRevision(this.#rawCharmRevision),
      charmVersion: this.#charmVersion.toString(),
      restartPending: this.#self.revision !== this.#appRevision,
      workloadIsRunning: options.workloadIsRunning ?? true,
    });
  }

  /** Which units run which revision, which declared themselves healthy, and which is next. */
  get summary(): RefreshSummary {
    return {
      inProgress: this.#inProgress,
      units: this.#units.map((unit) => {
        const self = unit.number === this.#self.number;
        return {
          name: unit.unitName,
          charmRevision: self ? this.#rawCharmRevision : undefined,
          workloadVersion: self ? this.#installedWorkloadVersion() : undefined,
          upToDate: unit.revision === this.#appRevision,
          healthy: this.#databagOf(unit).nextUnitAllowedForRevision === unit.revision,
        };
      }),
      nextUnit: this.#lastDecision?.next === undefined ? undefined : `${this.#run.context.appName}/${this.#lastDecision.next}`,
    };
  }

  /**
   * Declares this unit healthy on its current revision, so the next unit may refresh (when
   * `pause-after-unit-refresh` or `resume-refresh` permit). Call it after starting the workload
   * and checking the health of this unit and the application, in every event until it is
   * done. On the leader it moves the partition at once.
   *
   * @throws {RefreshError} `WORKLOAD_NOT_ALLOWED_TO_START` when the workload may not start
   */
  async allowNextUnitToRefresh(): Promise<void> {
    if (!this.workloadAllowedToStart) {
      throw new RefreshError(
        "WORKLOAD_NOT_ALLOWED_TO_START",
        "allowNextUnitToRefresh was called on a unit whose workload is not allowed to start; check workloadAllowedToStart first and only call it once the workload runs and is healthy",
      );
    }
    if (this.nextUnitAllowedToRefresh) return;
    this.#run.log.info(
      `Unit declared healthy: the next unit may refresh if the application's revision is still ${this.#self.revision} and pause-after-unit-refresh or resume-refresh permit`,
    );
    this.#setOwn("nextUnitAllowedForRevision", this.#self.revision);
    await this.#flush();
    await this.#rollout({ handleAction: false });
    await this.#flush();
  }

  // ---------------------------------------------------------------------------------------
  // The event, step by step

  async #handleEvent(): Promise<void> {
    const { context, tools, log } = this.#run;
    const stateDir = join(context.charmDir, LOCAL_STATE_DIR);
    await mkdir(stateDir, { recursive: true });
    const event = context.event;
    const hookName = event.kind === "hook" ? event.name : "";
    const relationDeparted = hookName.endsWith("-relation-departed");
    if (relationDeparted && context.departingUnit === context.unitName) {
      await this.#touch(LocalFile.kubernetesUnitTearingDown);
    }
    if (event.kind === "action" && REFRESH_ACTIONS.has(event.name)) {
      this.#action = new ActionResponse(event.name as RefreshActionName, this.#run);
    }
    // Independent reads go out together: each hook tool is a process start, and the API
    // requests (one after another on the client's single connection) overlap with them.
    // Results are then used, and errors raised, in the order the reads used to be made.
    const api = this.#api;
    const apiReads = (async () => {
      if (!(await api.mayPatchStatefulSet())) return undefined;
      const statefulSet = await api.readStatefulSet();
      return { statefulSet, pods: await api.listPods() };
    })();
    const [isLeader, apiResult, relationIdsResult] = await Promise.allSettled([tools.isLeader(), apiReads, tools.relationIds(PEER_RELATION_NAME)]);
    this.#isLeader = settledValue(isLeader);

    const reads = settledValue(apiResult);
    if (reads === undefined) {
      const error = new KubernetesJujuAppNotTrusted(context.appName);
      log.warning(`${error.message}`);
      if (this.#isLeader) {
        const { kind, message } = notTrustedAppStatus(context.appName);
        await tools.statusSet({ status: kind, message }, { application: true });
      }
      throw error;
    }

    const { statefulSet, pods } = reads;
    this.#appRevision = statefulSet.updateRevision;
    this.#partition = statefulSet.partition;
    this.#units = unitsFromPods(pods, context.appName);
    const self = this.#units.find((unit) => unit.number === context.unitNumber);

    // Checked before requiring the own pod: a departing unit's pod may already be gone.
    if (await this.#exists(LocalFile.kubernetesUnitTearingDown)) {
      await this.#action?.fail("Unit tearing down");
      if (!(await this.#exists(LocalFile.kubernetesUnitTearingDownLogged))) {
        log.info(`Unit tearing down (pod ${self?.uid ?? "already deleted"}); the refresh leaves it alone from now on`);
        await this.#touch(LocalFile.kubernetesUnitTearingDownLogged);
      }
      throw new UnitTearingDown();
    }
    if (self === undefined) {
      throw new KubernetesApiError(
        "KUBERNETES_UNEXPECTED_RESPONSE",
        `the pod of unit ${context.unitName} (${context.appName}-${context.unitNumber}) is not among the application's pods; Juju retries the hook`,
      );
    }
    this.#self = self;

    this.#inProgress = this.#units.some((unit) => unit.revision !== this.#appRevision);
    const relationIds = settledValue(relationIdsResult);
    this.#relationId = relationIds[0];

    if (hookName === "stop" && this.#inProgress) {
      // This unit may be refreshing or just restarting: freeze the units below it until the
      // leader decides again.
      if (await this.#raisePartitionTo(self.number, "during the stop event") && this.#relationId !== undefined) {
        await this.#loadDatabags();
        this.#setOwn("unusedStopEventPartitionRaisedAt", this.#now());
      }
    }
    if (this.#relationId === undefined) {
      throw new PeerRelationNotReady(`the ${PEER_RELATION_NAME} peer relation does not exist yet`);
    }
    // config-get does not depend on the databags: read it alongside them.
    const [, config] = await Promise.all([this.#loadDatabags(), tools.configGet()]);
    try {
      await this.#afterRelationExists(hookName, relationDeparted, config);
    } catch (error) {
      // Send what was decided so far, as the Python library's immediate writes would: if the
      // charm catches the error and the hook succeeds, Juju commits it; if not, Juju drops it.
      await this.#flush().catch(() => undefined);
      throw error;
    }
  }

  async #afterRelationExists(hookName: string, relationDeparted: boolean, config: Readonly<Record<string, unknown>>): Promise<void> {
    const { context, tools } = this.#run;
    const self = this.#self;
    if (hookName === "stop" && this.#inProgress && this.#units[0] === self) {
      this.#setOwn("unusedStopEventAppRevisionAsHighestUnit", this.#appRevision);
    }
    if (!(await this.#exists(LocalFile.kubernetesHadOpportunityToRaisePartitionAfterPodRestart))) {
      // Juju can skip the stop event of a pod deleted while its charm was failing (bug 2068500).
      if (this.#inProgress && (await this.#raisePartitionTo(self.number, "in the first event after the pod (re)started"))) {
        this.#setOwn("unusedPodUidAfterRestartPartitionRaised", self.uid);
      }
      await this.#touch(LocalFile.kubernetesHadOpportunityToRaisePartitionAfterPodRestart);
    }

    const pauseValue = config["pause-after-unit-refresh"];
    if (pauseValue === undefined || pauseValue === null) {
      throw new CharmPackagingError(
        'config option "pause-after-unit-refresh" is missing; add it to the charm\'s config (type string, default "first")',
      );
    }
    this.#pauseConfigValue = typeof pauseValue === "string" ? pauseValue : JSON.stringify(pauseValue);
    this.#setOwn("pauseAfterUnitRefreshConfig", this.#pauseConfigValue);

    await this.#recordTearingDownPeers(relationDeparted);
    if (await this.#exists(LocalFile.kubernetesRefreshStarted)) {
      this.#addToOwnList("refreshStartedForRevisions", self.revision);
    }
    if (this.#isLeader) {
      const union = [...(this.#app.refreshStartedForRevisions ?? [])];
      for (const revision of this.#allUnitStartedRevisions()) if (!union.includes(revision)) union.push(revision);
      this.#setApp("refreshStartedForRevisions", union);
    }

    this.#rawCharmRevision = await readCharmRevision(context.charmDir);
    const installed = await loadRefreshVersions(context.charmDir);
    this.#charmVersion = installed.charm;
    this.#pinnedWorkloadVersion = installed.workload;
    checkWorkloadNameLength(this.#charm.workloadName, installed.workload);
    this.#pin = await readWorkloadPin(context.charmDir, this.#charm.ociResourceName);
    const image = installedImage(self.pod.containers, this.#pin.containerName);
    this.#installedDigest = image.digest;
    this.#installedImageName = image.imageName ?? this.#pin.imageName;

    // Setting the workload version runs alongside the steps that only read and decide; it has
    // ended, its failure raised, before anything is patched, answered or written.
    await alongside(
      self.revision === this.#appRevision && this.#installedDigest !== undefined ? tools.applicationVersionSet(this.#installedWorkloadVersion() ?? "") : Promise.resolve(),
      (versionSet) => this.#decideAndAct(versionSet),
    );
  }

  /** The rest of an event once the versions are known; `versionSet` is the workload version being set meanwhile. */
  async #decideAndAct(versionSet: Promise<PromiseSettledResult<void>>): Promise<void> {
    const { context, log } = this.#run;
    const views = this.#unitViews();
    this.#pauseSetting = effectivePausePolicy(views, this.#pauseConfigValue);
    this.#pausePolicy = gatingPolicy(this.#pauseSetting);

    if (!this.#inProgress) {
      await this.#cleanUpAfterRefresh();
    }
    if (this.#inProgress || (this.#isLeader && this.#installedDigest !== undefined)) {
      this.#originals = readOriginalVersions(decodeAppDatabag(this.#appRawWithPending(), context.appName));
      this.#rollbackCommand = this.#buildRollbackCommand(this.#originals);
    }
    if (this.#inProgress) {
      log.info(`A refresh is in progress. To roll back, run \`${this.#rollbackCommand}\``);
    }

    settledValue(await versionSet);
    if (this.#action?.name === "pre-refresh-check") await this.#preRefreshCheckAction();
    await this.#startRefresh();
    await this.#rollout({ handleAction: true });
    await this.#flush();
  }

  async #cleanUpAfterRefresh(): Promise<void> {
    const { log } = this.#run;
    this.#removeOwn("refreshStartedForRevisions");
    this.#removeOwn("tearingDownPodUids");
    await this.#remove(LocalFile.kubernetesPodIdsOfUnitsThatAreTearingDown);
    await this.#remove(LocalFile.kubernetesRefreshStarted);
    if (!this.#isLeader) return;
    this.#removeApp("refreshStartedForRevisions");
    if (this.#installedDigest === undefined) {
      log.info("Could not save the application's versions for the next refresh: the workload image is not known yet. Retrying in the next event");
      return;
    }
    const matched = this.#installedDigest === this.#pin.digest;
    const versions: OriginalVersions = matched
      ? { workloadMatchedPin: true, workloadVersion: this.#pinnedWorkloadVersion, workloadContainerVersion: this.#installedDigest, charmVersion: this.#charmVersion.toString(), charmRevision: this.#rawCharmRevision }
      : { workloadMatchedPin: false, workloadVersion: null, workloadContainerVersion: this.#installedDigest, charmVersion: this.#charmVersion.toString(), charmRevision: this.#rawCharmRevision };
    const update = originalVersionsUpdate(versions);
    const changes = appDatabag.planWrite(this.#appRaw, update);
    for (const [name, value] of Object.entries(update) as [keyof AppFields, unknown][]) {
      this.#setApp(name, value as never);
    }
    if (Object.keys(changes).length > 0) {
      log.info(
        `Saved the application's versions for the next refresh: workload ${versions.workloadVersion ?? "(image not pinned by this charm)"} in image ${versions.workloadContainerVersion}, charm ${versions.charmVersion} (${versions.charmRevision})`,
      );
    }
  }

  async #recordTearingDownPeers(relationDeparted: boolean): Promise<void> {
    const { context } = this.#run;
    const fileText = await this.#read(LocalFile.kubernetesPodIdsOfUnitsThatAreTearingDown);
    if (fileText !== undefined) {
      for (const uid of decodeTearingDownPodUidsFile(fileText)) this.#addToOwnList("tearingDownPodUids", uid);
    }
    const departing = context.departingUnit;
    if (relationDeparted && departing !== undefined && departing !== context.unitName && departing.startsWith(`${context.appName}/`)) {
      const pod = this.#units.find((unit) => unit.unitName === departing);
      if (pod !== undefined) {
        this.#addToOwnList("tearingDownPodUids", pod.uid);
        await this.#write(LocalFile.kubernetesPodIdsOfUnitsThatAreTearingDown, encodeTearingDownPodUidsFile(this.#own.tearingDownPodUids ?? []));
      }
    }
    this.#tearingDownUids = new Set(this.#units.flatMap((unit) => this.#databagOf(unit).tearingDownPodUids ?? []));
  }

  async #preRefreshCheckAction(): Promise<void> {
    const action = this.#action as ActionResponse;
    const { context, log } = this.#run;
    if (this.#inProgress) {
      await action.fail("A refresh is already in progress; pre-refresh-check only runs before `juju refresh`");
      return;
    }
    if (!this.#isLeader) {
      await action.fail(`Run this action on the leader: \`juju run ${context.appName}/leader pre-refresh-check\``);
      return;
    }
    try {
      if (this.#installedDigest === undefined) {
        throw new PrecheckFailed(`${this.#charm.workloadName} container is not running`);
      }
      const beforeAny = this.#charm.runPreRefreshChecksBeforeAnyUnitsRefreshed ?? this.#charm.runPreRefreshChecksAfterFirstUnitRefreshed;
      await beforeAny.call(this.#charm);
    } catch (error) {
      if (!isPrecheckFailed(error)) throw error;
      await action.fail(`The charm is not ready to refresh: pre-refresh check failed: ${error.message}`);
      return;
    }
    const pause = describePausePolicy(this.#pauseSetting as PauseSetting);
    await action.result(
      [
        `The charm is ready to refresh. Refresh instructions: https://charmhub.io/${this.#charm.charmName}/docs/refresh/${this.#charmVersion.toString()}`,
        `Once the refresh has started, roll back with this command (copy it now): \`${this.#rollbackCommand}\``,
        `${pause} To change that, set the pause-after-unit-refresh config option; run \`juju config ${context.appName}\` for details.`,
      ].join("\n\n"),
    );
    log.info("Pre-refresh check succeeded");
  }

  /** The automatic checks on the highest unit, and `force-refresh-start`. */
  async #startRefresh(): Promise<void> {
    const { log } = this.#run;
    const highest = this.#units[0] as PodUnit;
    let force: { action: ActionResponse; params: ForceRefreshStartParameters } | undefined;
    if (this.#action?.name === "force-refresh-start") {
      const action = this.#action;
      const params = await this.#actionParameters(parseForceRefreshStartParameters);
      if (params === undefined) {
        // Already failed with the reason.
      } else if (this.#self !== highest) {
        await action.fail(`Run this action on unit ${highest.number}, the highest unit`);
      } else if (!this.#inProgress) {
        await action.fail("No refresh is in progress");
      } else if (!forceRefreshStartSkipsAnyCheck(params)) {
        await action.fail("Set at least one of check-compatibility, run-pre-refresh-checks and check-workload-container to false");
      } else {
        force = { action, params };
      }
    }
    this.#unitStatus = undefined;
    if (!this.#inProgress || this.#self !== highest) return;
    if (this.#self.revision !== this.#appRevision) {
      await force?.action.fail(`Unit ${highest.number} is outdated and waiting for Kubernetes to replace its pod`);
      return;
    }
    const originals = this.#originals as OriginalVersions;
    const revision = this.#self.revision;
    const from = describeVersions(originals.workloadMatchedPin ? originals.workloadVersion : undefined, originals.workloadContainerVersion, originals.charmRevision, originals.charmVersion, this.#charm.workloadName);
    if (!this.#refreshStarted() && this.#runsOriginalVersions()) {
      log.info(`Rollback detected: automatic checks skipped and refresh started for revision ${revision}, back to ${from}`);
      await this.#markStarted();
    }
    if (this.#refreshStarted()) {
      await force?.action.fail(`Unit ${highest.number} already refreshed`);
      return;
    }
    const to = describeVersions(
      this.#installedWorkloadVersion(),
      this.#installedDigest ?? "unknown image",
      this.#rawCharmRevision,
      this.#charmVersion.toString(),
      this.#charm.workloadName,
    );
    const skipped = force === undefined ? [] : skippedChecks(force.params);
    log.info(`Attempting to start the refresh for revision ${revision} from ${from} to ${to}${skipped.length > 0 ? ` (forced with ${skipped.join(", ")})` : ""}`);
    const howToForce = (parameter: string): string =>
      `To refresh anyway (risking data loss and downtime), run \`juju run ${this.#run.context.appName}/${highest.number} force-refresh-start ${parameter}=false\`; see \`juju show-action ${this.#run.context.appName} force-refresh-start\``;

    // Check 1: the workload image is the one this charm revision was validated with.
    if (force !== undefined && !force.params.checkWorkloadContainer) {
      await force.action.log(`Skipping the check that the ${this.#charm.workloadName} container is the one validated with this charm revision`);
    } else if (this.#installedDigest !== this.#pin.digest) {
      log.info(`Expected the ${this.#charm.workloadName} image ${this.#pin.digest}, found ${this.#installedDigest ?? "none yet"}`);
      this.#unitStatus = wrongContainerUnitStatus();
      log.error(
        `\`juju refresh\` was run with a missing or wrong OCI resource, so ${this.#charm.workloadName} stays stopped on this unit. Roll back with \`${this.#rollbackCommand}\`. Using an image this charm revision was not validated with risks data loss and downtime. ${howToForce("check-workload-container")}`,
      );
      await force?.action.fail(
        `The refresh is to a ${this.#charm.workloadName} container this charm revision was not validated with. Roll back with \`${this.#rollbackCommand}\``,
      );
      return;
    } else {
      await force?.action.log(`Checked that the ${this.#charm.workloadName} container is the one validated with this charm revision`);
    }

    // Check 2: compatibility of the original and new versions.
    if (force !== undefined && !force.params.checkCompatibility) {
      await force.action.log("Skipping the compatibility check");
    } else {
      const reason = await this.#incompatibility(originals);
      if (reason !== undefined) {
        log.info(`The refresh is incompatible: ${reason}`);
        this.#unitStatus = incompatibleUnitStatus();
        log.info(
          `The refresh is incompatible, so ${this.#charm.workloadName} stays stopped on this unit. Roll back with \`${this.#rollbackCommand}\`. Continuing risks data loss and downtime. ${howToForce("check-compatibility")}`,
        );
        await force?.action.fail(`The refresh is incompatible (${reason}). Roll back with \`${this.#rollbackCommand}\``);
        return;
      }
      await force?.action.log("Checked that the refresh is compatible");
    }

    // Check 3: the charm's own pre-refresh checks.
    if (force !== undefined && !force.params.runPreRefreshChecks) {
      await force.action.log("Skipping the pre-refresh checks");
    } else {
      await force?.action.log("Running the pre-refresh checks");
      try {
        await this.#charm.runPreRefreshChecksAfterFirstUnitRefreshed();
      } catch (error) {
        if (!isPrecheckFailed(error)) throw error;
        this.#unitStatus = precheckFailedUnitStatus(error.message);
        log.error(
          `Pre-refresh check failed: ${error.message}. ${this.#charm.workloadName} stays stopped on this unit. Roll back with \`${this.#rollbackCommand}\`. ${howToForce("run-pre-refresh-checks")}`,
        );
        await force?.action.fail(`Pre-refresh check failed: ${error.message}. Roll back with \`${this.#rollbackCommand}\``);
        return;
      }
      await force?.action.log("Pre-refresh checks passed");
    }

    log.info(
      `Automatic checks ${force === undefined ? "passed" : "passed or skipped"}: refresh started for revision ${revision}; starting ${this.#charm.workloadName} on this unit. The refresh is from ${from} to ${to}`,
    );
    await this.#markStarted();
    await force?.action.result(`${this.#charm.workloadName} refreshed on unit ${highest.number}. Starting ${this.#charm.workloadName} on unit ${highest.number}`);
  }

  async #incompatibility(originals: OriginalVersions): Promise<string | undefined> {
    if (!originals.workloadMatchedPin) {
      return `the original ${this.#charm.workloadName} container ${originals.workloadContainerVersion} did not match its charm's pin`;
    }
    if (this.#installedDigest !== this.#pin.digest) {
      return `the new ${this.#charm.workloadName} container does not match the pin ${this.#pin.digest}`;
    }
    let oldCharmVersion: CharmVersion;
    try {
      oldCharmVersion = new CharmVersion(originals.charmVersion);
    } catch {
      return `the original charm version ${originals.charmVersion} is not valid`;
    }
    const input: CompatibilityInput = {
      oldCharmVersion,
      newCharmVersion: this.#charmVersion,
      oldWorkloadVersion: originals.workloadVersion,
      newWorkloadVersion: this.#pinnedWorkloadVersion,
    };
    const answer = this.#charm.isCompatible === undefined ? isCompatibleByDefault(input) : await this.#charm.isCompatible(input);
    const result = toCompatibilityResult(answer, input);
    return result.compatible ? undefined : result.message;
  }

  async #markStarted(): Promise<void> {
    this.#addToOwnList("refreshStartedForRevisions", this.#self.revision);
    await this.#touch(LocalFile.kubernetesRefreshStarted);
  }

  /** The leader's partition decision and the app status; run again when the unit declares itself healthy. */
  async #rollout(options: { handleAction: boolean }): Promise<void> {
    const { context, log } = this.#run;
    this.#appStatus = undefined;
    const action = this.#action?.name === "resume-refresh" ? this.#action : undefined;
    const respond = options.handleAction ? action : undefined;
    let resume: { checkHealthOfRefreshedUnits: boolean } | undefined;
    if (action !== undefined) {
      resume = await this.#actionParameters(parseResumeRefreshParameters, respond);
    }
    if (!this.#isLeader) {
      await respond?.fail(`Run this action on the leader: \`juju run ${context.appName}/leader resume-refresh\``);
      return;
    }
    const invalidConfig = this.#pauseSetting?.invalid?.status;
    if (!this.#inProgress) {
      if (this.#partition !== 0) {
        // A `juju refresh` may have landed since this event read the StatefulSet, and a
        // stopping unit may have raised the partition for it: never reset that.
        const current = await this.#api.readStatefulSet();
        this.#partition = current.partition;
        if (current.updateRevision === this.#appRevision && current.partition !== 0) {
          await this.#patchPartition(0);
          log.info("Set the partition to 0: no refresh is in progress");
        }
      }
      await respond?.fail("No refresh is in progress");
      this.#appStatus = invalidConfig;
      return;
    }
    const views = this.#unitViews();
    const decision = decideRollout({
      units: views,
      appRevision: this.#appRevision,
      refreshStarted: this.#refreshStarted(),
      policy: this.#pausePolicy,
      resume,
    });
    this.#lastDecision = decision;
    if (respond !== undefined && decision.resume !== undefined) {
      if (decision.resume.kind === "fail") await respond.fail(decision.resume.message);
      else {
        if (decision.resume.log !== undefined) await respond.log(decision.resume.log);
        await respond.result(decision.resume.message);
      }
    }
    const target = decision.targetPartition;
    if (target !== undefined && target < this.#partition) {
      // Re-read right before patching: the leader must never raise the partition (Juju bug
      // 2073473), so it only lowers from the value that is current now.
      const fresh = await this.#api.readStatefulSet();
      const current = fresh.partition;
      this.#partition = current;
      // A newer `juju refresh` makes this decision stale: the next event decides again.
      if (fresh.updateRevision === this.#appRevision && target < current) {
        await this.#patchPartition(target);
        const excluded = views.filter((unit) => unit.tearingDown).map((unit) => unit.number);
        log.info(
          `Set the partition to ${target} because ${decision.reason}${excluded.length > 0 ? ` (units being removed, left out: ${excluded.join(", ")})` : ""}`,
        );
      }
    }
    this.#appStatus = rolloutAppStatus(rolloutAppStatusKind({ units: views, partition: this.#partition, policy: this.#pausePolicy }), this.#partition, context.appName);
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  /** Parses the action's parameters once per event; on invalid ones, fails the action (when answering it) and returns undefined. */
  async #actionParameters<T>(parse: (raw: unknown) => T, respond: ActionResponse | undefined = this.#action): Promise<T | undefined> {
    this.#actionParams ??= await this.#run.tools.actionGet();
    try {
      return parse(this.#actionParams);
    } catch (error) {
      if (!(error instanceof RefreshError)) throw error;
      await respond?.fail(error.message.replaceAll("<app>", this.#run.context.appName));
      return undefined;
    }
  }

  #unitViews(): UnitView[] {
    return this.#units.map((unit) => {
      const databag = this.#databagOf(unit);
      return {
        number: unit.number,
        revision: unit.revision,
        tearingDown: this.#tearingDownUids.has(unit.uid),
        pauseConfig: unit === this.#self ? this.#own.pauseAfterUnitRefreshConfig : publishedPauseValue(this.#peers.get(unit.unitName) ?? EMPTY_DECODED),
        healthyOnRevision: databag.nextUnitAllowedForRevision,
      };
    });
  }

  #databagOf(unit: PodUnit): DatabagView<KubernetesUnitFields> {
    if (unit === this.#self) return this.#own;
    return this.#peers.get(unit.unitName)?.values ?? {};
  }

  #allUnitStartedRevisions(): string[] {
    return this.#units.flatMap((unit) => this.#databagOf(unit).refreshStartedForRevisions ?? []);
  }

  #startedRevisions(): Set<string> {
    return new Set([...this.#allUnitStartedRevisions(), ...(this.#app.refreshStartedForRevisions ?? [])]);
  }

  #refreshStarted(): boolean {
    return this.#inProgress && this.#startedRevisions().has(this.#appRevision);
  }

  /** The workload version this unit runs, known only when its image is the one the charm pins. */
  #installedWorkloadVersion(): string | undefined {
    return this.#installedDigest === this.#pin.digest ? this.#pinnedWorkloadVersion : undefined;
  }

  #runsOriginalVersions(): boolean {
    const originals = this.#originals;
    return (
      originals !== undefined &&
      this.#installedDigest !== undefined &&
      originals.charmVersion === this.#charmVersion.toString() &&
      originals.workloadContainerVersion === this.#installedDigest
    );
  }

  #buildRollbackCommand(originals: OriginalVersions): string {
    const { appName } = this.#run.context;
    const revision = charmhubRevision(originals.charmRevision);
    // A local charm has no Charmhub revision to go back to: the user has to supply the file.
    const source = revision === undefined ? "--path <the charm file deployed before the refresh>" : `--revision ${revision}`;
    return `juju refresh ${appName} ${source} --resource ${this.#charm.ociResourceName}=${this.#installedImageName ?? this.#pin.imageName}@${originals.workloadContainerVersion}`;
  }

  async #raisePartitionTo(unitNumber: number, when: string): Promise<boolean> {
    if (this.#partition >= unitNumber) return false;
    const current = (await this.#api.readStatefulSet()).partition;
    this.#partition = current;
    if (current >= unitNumber) return false;
    await this.#patchPartition(unitNumber);
    this.#run.log.info(`Set the partition to ${unitNumber} ${when}, so lower units wait until the leader lets them refresh`);
    return true;
  }

  async #patchPartition(partition: number): Promise<void> {
    this.#partition = (await this.#api.patchPartition(partition)).partition;
  }

  async #loadDatabags(): Promise<void> {
    if (this.#relationId === undefined || this.#members.size > 0) return;
    const { tools, context, log } = this.#run;
    const relation = this.#relationId;
    // Membership first (only joined peers may be read); the own and app databags need not wait for it.
    const ownRead = tools.relationGet(relation, { unit: context.unitName });
    const appRead = tools.relationGet(relation, { app: context.appName });
    const [remote, ownRaw] = await Promise.allSettled([tools.relationList(relation), ownRead, appRead]);
    this.#members = new Set([context.unitName, ...settledValue(remote)]);
    this.#ownRaw = settledValue(ownRaw);
    const own = decodeKubernetesUnitDatabag(this.#ownRaw, context.unitName);
    this.#own = { ...own.values };
    const peers = this.#units.filter((unit) => unit !== this.#self && this.#members.has(unit.unitName));
    const peerData = await Promise.allSettled(peers.map((unit) => tools.relationGet(relation, { unit: unit.unitName })));
    for (const [index, unit] of peers.entries()) {
      const result = peerData[index];
      if (result === undefined) continue;
      const decoded = decodeKubernetesUnitDatabag(settledValue(result), unit.unitName);
      for (const problem of decoded.problems) log.warning(problem.message);
      this.#peers.set(unit.unitName, decoded);
    }
    this.#appRaw = await appRead;
    const app = decodeAppDatabag(this.#appRaw, context.appName);
    for (const problem of app.problems) log.warning(problem.message);
    this.#app = { ...app.values };
  }

  #setOwn<K extends keyof KubernetesUnitFields>(name: K, value: NonNullable<UnitDatabag[K]>): void {
    this.#own[name] = value;
    this.#ownTouched.add(name);
  }

  #removeOwn(name: keyof KubernetesUnitFields): void {
    delete this.#own[name];
    this.#ownTouched.add(name);
  }

  #addToOwnList(name: "refreshStartedForRevisions" | "tearingDownPodUids", value: string): void {
    const list = this.#own[name] ?? [];
    if (!list.includes(value)) this.#setOwn(name, [...list, value]);
  }

  #setApp<K extends keyof AppFields>(name: K, value: Exclude<AppView[K], undefined>): void {
    this.#app[name] = value;
    this.#appTouched.add(name);
  }

  #removeApp(name: keyof AppFields): void {
    delete this.#app[name];
    this.#appTouched.add(name);
  }

  #appRawWithPending(): Record<string, string> {
    return applyChanges(this.#appRaw, this.#pendingAppChanges());
  }

  /** The app databag keys this event's view differs on from what Juju stores (only keys whose decoded value changed). */
  #pendingAppChanges(): DatabagChanges {
    return appDatabag.planWrite(this.#appRaw, pendingUpdate(this.#appTouched, this.#app) as DatabagUpdate<AppFields>);
  }

  /** Writes this event's databag changes; only keys whose decoded value changed are sent. */
  async #flush(): Promise<void> {
    const relation = this.#relationId;
    if (relation === undefined) return;
    const { tools } = this.#run;
    const ownChanges = kubernetesUnitDatabag.planWrite(this.#ownRaw, pendingUpdate(this.#ownTouched, this.#own) as DatabagUpdate<KubernetesUnitFields>);
    if (Object.keys(ownChanges).length > 0) {
      await tools.relationSet(relation, ownChanges);
      this.#ownRaw = applyChanges(this.#ownRaw, ownChanges);
    }
    this.#ownTouched.clear();
    if (this.#isLeader) {
      const appChanges = this.#pendingAppChanges();
      if (Object.keys(appChanges).length > 0) {
        await tools.relationSet(relation, appChanges, { app: true });
        this.#appRaw = applyChanges(this.#appRaw, appChanges);
      }
    }
    this.#appTouched.clear();
  }

  #path(file: string): string {
    return join(this.#run.context.charmDir, LOCAL_STATE_DIR, file);
  }

  async #exists(file: string): Promise<boolean> {
    try {
      await access(this.#path(file));
      return true;
    } catch {
      return false;
    }
  }

  async #touch(file: string): Promise<void> {
    await writeFile(this.#path(file), "", { flag: "a" });
  }

  async #write(file: string, text: string): Promise<void> {
    await writeFile(this.#path(file), text);
  }

  async #read(file: string): Promise<string | undefined> {
    try {
      return await readFile(this.#path(file), "utf8");
    } catch {
      return undefined;
    }
  }

  async #remove(file: string): Promise<void> {
    await rm(this.#path(file), { force: true });
  }
}

const EMPTY_DECODED: DecodedDatabag<KubernetesUnitFields> = { values: {}, problems: [], invalid: new Set() };

function unitsFromPods(pods: readonly PodState[], appName: string): PodUnit[] {
  const prefix = `${appName}-`;
  const units: PodUnit[] = [];
  for (const pod of pods) {
    if (!pod.name.startsWith(prefix)) continue;
    const ordinal = pod.name.slice(prefix.length);
    if (!/^(0|[1-9]\d*)$/.test(ordinal)) continue;
    const number = Number(ordinal);
    units.push({ number, unitName: `${appName}/${number}`, uid: pod.uid, revision: pod.controllerRevision, pod });
  }
  return units.sort((left, right) => right.number - left.number);
}

/** The update that turns the stored databag into `view` on the `touched` keys: a key gone from the view is removed. */
function pendingUpdate(touched: ReadonlySet<string>, view: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const update: Record<string, unknown> = {};
  for (const name of touched) update[name] = view[name] === undefined ? REMOVE : view[name];
  return update;
}

function applyChanges(raw: Readonly<Record<string, string>>, changes: Readonly<Record<string, string | null>>): Record<string, string> {
  const next = { ...raw };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

function isPrecheckFailed(error: unknown): error is PrecheckFailed {
  // By code as well as class: a bundled charm can end up with two copies of @refresh/core.
  return error instanceof PrecheckFailed || (error instanceof RefreshError && error.code === "PRECHECK_FAILED");
}

function describeVersions(workloadVersion: string | undefined, digest: string, rawCharmRevision: string, charmVersion: string, workloadName: string): string {
  const workload = workloadVersion === undefined ? `${workloadName} container ${digest}` : `${workloadName} ${workloadVersion} (container ${digest})`;
  const revision = charmhubRevision(rawCharmRevision);
  const charm = revision === undefined ? `charm ${charmVersion}` : `charm revision ${revision} (${charmVersion})`;
  return `${workload} and ${charm}`;
}
