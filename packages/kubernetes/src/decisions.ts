import { effectivePauseAfterUnitRefresh, type PauseSetting, type PublishedPauseValue } from "@refresh/core";

/**
 * The refresh's decisions as pure functions of what a hook observed: the effective pause
 * policy, which unit refreshes next and where the partition goes, what `resume-refresh`
 * answers, and whether a unit may start its workload. The `Kubernetes` class gathers the
 * inputs (API server, databags, files) and applies the outputs; everything that can be
 * decided without I/O is decided here, so it can be tested table by table.
 */

/**
 * The `pause-after-unit-refresh` policy. `unknown` stands for any value other than the three
 * valid ones; it gates like `all`, the most careful choice.
 */
export type PausePolicy = "none" | "first" | "all" | "unknown";

/** The policy to gate with: an invalid setting gates like `all` but is reported as `unknown`. */
export function gatingPolicy(setting: PauseSetting): PausePolicy {
  return setting.invalid === undefined ? setting.policy : "unknown";
}

/**
 * A unit as the refresh sees it in one event. Units are always handled highest number
 * first: that is the order Kubernetes replaces pods in.
 */
export interface UnitView {
  /** The unit number, i.e. the pod ordinal. */
  readonly number: number;
  /** The ControllerRevision the unit's pod runs. */
  readonly revision: string;
  /** The pod is being removed (scale-down), so it is left out of the rollout decisions. */
  readonly tearingDown: boolean;
  /** The unit's raw `pause-after-unit-refresh` value as it last published it, if it did. */
  readonly pauseConfig: PublishedPauseValue;
  /** The revision the unit declared itself healthy on (`allowNextUnitToRefresh`), if any. */
  readonly healthyOnRevision: string | undefined;
}

/**
 * The effective pause policy: the most careful value published by the most up-to-date units
 * (those on the revision of the highest pod, or of the highest pod not tearing down). Older
 * units never see config changes made after `juju refresh` (Juju bug 2084886), so their
 * values do not count; units that have published nothing yet are skipped. The ranking
 * itself (`none` < `first` < `all` < invalid) is core's.
 *
 * @param units all of the application's units, highest number first
 * @param ownValue this unit's own current config value, used when no candidate has published one yet
 */
export function effectivePausePolicy(units: readonly UnitView[], ownValue: unknown): PauseSetting {
  const highest = units[0];
  const highestRemaining = units.find((unit) => !unit.tearingDown);
  const newest = new Set([highest?.revision, highestRemaining?.revision]);
  const published = units.filter((unit) => newest.has(unit.revision)).map((unit) => unit.pauseConfig);
  return effectivePauseAfterUnitRefresh(published, ownValue);
}

/** A `resume-refresh` action that arrived in this event. */
export interface ResumeRequest {
  /** `check-health-of-refreshed-units`; false forces past unhealthy refreshed units. */
  readonly checkHealthOfRefreshedUnits: boolean;
}

/** Inputs of {@link decideRollout}. */
export interface RolloutInputs {
  /** All of the application's units (pods), highest number first. */
  readonly units: readonly UnitView[];
  /** The revision pods are moving to (`status.updateRevision`). */
  readonly appRevision: string;
  /** The highest unit started its workload on `appRevision` (checks passed, forced or rollback). */
  readonly refreshStarted: boolean;
  /**
   * The policy in force: the most careful value among the up-to-date units (see
   * {@link effectivePausePolicy}), which can differ from what this unit's config says. The
   * reasons name it, so that the log never quotes a value the decision did not follow.
   */
  readonly policy: PausePolicy;
  readonly resume: ResumeRequest | undefined;
}

/** What `resume-refresh` answers. Exactly one terminal outcome per action. */
export type ResumeOutcome =
  | { readonly kind: "fail"; readonly message: string }
  | { readonly kind: "result"; readonly message: string; readonly log?: string };

/** Output of {@link decideRollout}. */
export interface RolloutDecision {
  /** The unit that may refresh next, or undefined when no unit remains (all tearing down). */
  readonly next: number | undefined;
  /** Whether `next` is admitted now. */
  readonly allow: boolean;
  /** Why, in words, for the log line. */
  readonly reason: string;
  /**
   * The partition the leader aims for: `next` when admitted, else the lowest unit that is
   * already up to date. The leader only ever lowers the partition towards it.
   */
  readonly targetPartition: number | undefined;
  /** The answer to a `resume-refresh` in this event, if there is one. */
  readonly resume: ResumeOutcome | undefined;
}

/**
 * Decides, while a refresh is in progress, which unit refreshes next and whether it may go
 * now. A unit that is not up to date is admitted only when the user forces it
 * (`check-health-of-refreshed-units=false`), or when the refresh has started, every
 * up-to-date unit declared itself healthy on the current revision, and the pause policy or
 * a `resume-refresh` allows it. At most one not-yet-refreshed unit is admitted per decision.
 */
export function decideRollout(inputs: RolloutInputs): RolloutDecision {
  const { units, appRevision, refreshStarted, policy } = inputs;
  let resume = inputs.resume;
  let resumeOutcome: ResumeOutcome | undefined;

  if (resume !== undefined && resume.checkHealthOfRefreshedUnits && policy === "none") {
    resumeOutcome = {
      kind: "fail",
      message:
        "pause-after-unit-refresh is \"none\", so the refresh does not wait for resume-refresh. To go on despite unhealthy refreshed units, run it with check-health-of-refreshed-units=false",
    };
    resume = undefined;
  }

  const remaining = units.filter((unit) => !unit.tearingDown);
  if (remaining.length === 0) {
    return {
      next: undefined,
      allow: false,
      reason: "every unit is being removed",
      targetPartition: undefined,
      resume: resumeOutcome ?? (resume === undefined ? undefined : { kind: "fail", message: "Every unit is being removed: there is no unit to refresh" }),
    };
  }
  let nextIndex = remaining.findIndex((unit) => unit.revision !== appRevision);
  if (nextIndex === -1) {
    // Only an outdated pod that is tearing down keeps the refresh in progress.
    nextIndex = remaining.length - 1;
  }
  const next = remaining[nextIndex] as UnitView;
  const highest = units[0] as UnitView;
  const heldAt = (remaining[Math.max(nextIndex - 1, 0)] as UnitView).number;

  const decision = (allow: boolean, reason: string, outcome?: ResumeOutcome): RolloutDecision => ({
    next: next.number,
    allow,
    reason,
    targetPartition: allow ? next.number : heldAt,
    resume: resumeOutcome ?? outcome,
  });

  if (resume !== undefined && !resume.checkHealthOfRefreshedUnits) {
    return decision(true, "resume-refresh ran with check-health-of-refreshed-units=false", {
      kind: "result",
      log: "Not checking the health of the refreshed units",
      message: `Attempting to refresh unit ${next.number}`,
    });
  }
  if (!refreshStarted) {
    return decision(
      false,
      `the highest unit has not started its workload on revision ${appRevision}`,
      resume && unhealthy(highest.number),
    );
  }
  for (const unit of remaining.slice(0, nextIndex)) {
    if (unit.healthyOnRevision !== appRevision) {
      return decision(false, `unit ${unit.number} has not declared itself healthy yet`, resume && unhealthy(unit.number));
    }
  }
  if (resume !== undefined) {
    const message = policy === "first" ? `Refresh resumed. Unit ${next.number} is refreshing next` : `Unit ${next.number} is refreshing next`;
    return decision(true, "resume-refresh ran", { kind: "result", message });
  }
  if (policy === "none") {
    return decision(true, 'pause-after-unit-refresh is "none"');
  }
  if (policy === "first" && nextIndex >= 2) {
    return decision(true, 'pause-after-unit-refresh is "first" and a second unit has already refreshed');
  }
  if (policy === "unknown") {
    return decision(false, 'waiting for resume-refresh (pause-after-unit-refresh is not "all", "first" or "none" on every up-to-date unit, so every unit waits as with "all")');
  }
  return decision(false, `waiting for resume-refresh (pause-after-unit-refresh is "${policy}")`);
}

function unhealthy(unitNumber: number): ResumeOutcome {
  return { kind: "fail", message: `Unit ${unitNumber} is unhealthy, so the refresh stays paused. Check its status and \`juju debug-log\`` };
}

/** Which of the three in-progress app statuses applies; see {@link rolloutAppStatusKind}. */
export type RolloutAppStatusKind = "refreshing-last" | "paused" | "refreshing";

/**
 * Picks the app status while a refresh is in progress, from the partition as it stands
 * after this event's patch: once the partition reaches the lowest unit nothing can pause
 * the refresh any more; with `all` (or `unknown`), or `first` while only the first unit was
 * admitted, the refresh waits for the user; otherwise it runs on by itself.
 */
export function rolloutAppStatusKind(inputs: {
  readonly units: readonly UnitView[];
  readonly partition: number;
  readonly policy: PausePolicy;
}): RolloutAppStatusKind {
  const lowest = inputs.units.at(-1);
  const highestRemaining = inputs.units.find((unit) => !unit.tearingDown);
  if (lowest !== undefined && inputs.partition === lowest.number) {
    return "refreshing-last";
  }
  if (inputs.policy === "all" || inputs.policy === "unknown") {
    return "paused";
  }
  if (inputs.policy === "first" && highestRemaining !== undefined && inputs.partition >= highestRemaining.number) {
    return "paused";
  }
  return "refreshing";
}

/** Inputs of {@link workloadAllowedToStart}. */
export interface WorkloadGateInputs {
  readonly inProgress: boolean;
  /** This unit's own pod revision. */
  readonly unitRevision: string;
  /** Every revision any unit (or the application databag) recorded as started. */
  readonly startedRevisions: ReadonlySet<string>;
  /** This unit runs exactly the charm version and image the application ran before the refresh. */
  readonly runsOriginalVersions: boolean;
}

/**
 * Whether this unit may start its workload: always when no refresh is in progress; during
 * one, when the refresh was started for this unit's own revision, or when the unit still
 * (or again) runs the original charm version and image. A unit let through by
 * `resume-refresh check-health-of-refreshed-units=false` before the refresh started is not
 * allowed: only the checks or `force-refresh-start` unlock a new revision.
 */
export function workloadAllowedToStart(inputs: WorkloadGateInputs): boolean {
  return !inputs.inProgress || inputs.startedRevisions.has(inputs.unitRevision) || inputs.runsOriginalVersions;
}
