import * as z from "zod/mini";
import { InvalidActionParameters } from "../errors.js";
import { englishIssues } from "../validation.js";
import { PAUSE_AFTER_UNIT_REFRESH, PAUSE_AFTER_UNIT_REFRESH_DEFAULT } from "./pause.js";

/** Where the charm runs: Kubernetes (one pod per unit) or machines (snap workloads). */
export type Substrate = "kubernetes" | "machines";

/** What the action and config descriptions are written for. */
export interface RefreshCharmOptions {
  readonly substrate: Substrate;
  /** Human-readable workload name, e.g. `PostgreSQL`; the same one given to the library. */
  readonly workloadName: string;
}

/** Names of the three refresh actions. */
export const RefreshAction = {
  preRefreshCheck: "pre-refresh-check",
  forceRefreshStart: "force-refresh-start",
  resumeRefresh: "resume-refresh",
} as const;

/** One of the {@link RefreshAction} names. */
export type RefreshActionName = (typeof RefreshAction)[keyof typeof RefreshAction];

/** Names of the action parameters. */
export const RefreshActionParameter = {
  checkCompatibility: "check-compatibility",
  runPreRefreshChecks: "run-pre-refresh-checks",
  checkWorkloadContainer: "check-workload-container",
  checkHealthOfRefreshedUnits: "check-health-of-refreshed-units",
} as const;

/** A boolean action parameter as `charmcraft.yaml` declares it. */
export interface BooleanParameterDefinition {
  readonly type: "boolean";
  readonly default: boolean;
  readonly description: string;
}

/** An action as `charmcraft.yaml` declares it under `actions:`. */
export interface ActionDefinition {
  readonly description: string;
  readonly params?: Readonly<Record<string, BooleanParameterDefinition>>;
  readonly additionalProperties: false;
}

/** The `pause-after-unit-refresh` option as `charmcraft.yaml` declares it under `config.options:`. */
export interface StringOptionDefinition {
  readonly type: "string";
  readonly default: string;
  readonly description: string;
}

/** The three refresh actions, in the order they are documented, described for this charm. */
export function refreshActionDefinitions(options: RefreshCharmOptions): Record<RefreshActionName, ActionDefinition> {
  const { substrate, workloadName: workload } = options;
  const resumeWhere =
    substrate === "kubernetes"
      ? "Run it on the leader unit."
      : "Run it on the unit that refreshes next, as the application status says.";
  const forceParams: Record<string, BooleanParameterDefinition> = {
    [RefreshActionParameter.checkCompatibility]: {
      type: "boolean",
      default: true,
      description:
        `When false, start the refresh even though the new ${workload} or charm version is not known to be ` +
        `compatible with the original one.`,
    },
    [RefreshActionParameter.runPreRefreshChecks]: {
      type: "boolean",
      default: true,
      description: `When false, start the refresh without running the health checks and preparations of ${workload}.`,
    },
  };
  if (substrate === "kubernetes") {
    forceParams[RefreshActionParameter.checkWorkloadContainer] = {
      type: "boolean",
      default: true,
      description:
        `When false, start the refresh even though the ${workload} container image is not the one this charm ` +
        `revision was tested with.`,
    };
  }
  return {
    [RefreshAction.preRefreshCheck]: {
      description:
        `Checks that ${workload} and the charm are healthy and ready to refresh, and prepares them. ` +
        `Run it on the leader unit before \`juju refresh\`; it also prints the command that rolls the refresh back.`,
      additionalProperties: false,
    },
    [RefreshAction.forceRefreshStart]: {
      description:
        `Starts the refresh of the first unit even though an automatic check failed. This can cause data loss ` +
        `or downtime: prefer rolling back. Run it on the first unit to refresh (the highest unit number) and ` +
        `set at least one parameter to false.`,
      params: forceParams,
      additionalProperties: false,
    },
    [RefreshAction.resumeRefresh]: {
      description:
        `Lets the refresh go on once you have checked the units refreshed so far. With ` +
        `${PAUSE_AFTER_UNIT_REFRESH}=all it refreshes the next unit; with first, every remaining unit (still ` +
        `pausing if a refreshed unit is unhealthy); with none it does nothing unless ` +
        `check-health-of-refreshed-units=false. ${resumeWhere}`,
      params: {
        [RefreshActionParameter.checkHealthOfRefreshedUnits]: {
          type: "boolean",
          default: true,
          description:
            `When false, refresh the next unit even if refreshed units are unhealthy. This can cause data loss or ` +
            `downtime. If the first unit is stuck on its automatic checks, use force-refresh-start instead.`,
        },
      },
      additionalProperties: false,
    },
  };
}

/** The `pause-after-unit-refresh` config option, described for this charm. */
export function pauseConfigOptionDefinition(options: RefreshCharmOptions): StringOptionDefinition {
  return {
    type: "string",
    default: PAUSE_AFTER_UNIT_REFRESH_DEFAULT,
    description:
      `After which units a refresh of ${options.workloadName} stops and waits for you to run resume-refresh: ` +
      `"all" (after every unit), "first" (after the first unit only) or "none" (never). A change during a ` +
      `refresh applies before the next unit refreshes.`,
  };
}

/** Parameters of `force-refresh-start`, with the defaults applied. */
export interface ForceRefreshStartParameters {
  readonly checkCompatibility: boolean;
  readonly runPreRefreshChecks: boolean;
  /** Always true on machines, whose snap revision is fixed by the charm (the check cannot fail). */
  readonly checkWorkloadContainer: boolean;
}

/** Parameters of `resume-refresh`, with the defaults applied. */
export interface ResumeRefreshParameters {
  readonly checkHealthOfRefreshedUnits: boolean;
}

const flag = z._default(z.boolean(), true);

/** zod schema of the `pre-refresh-check` parameters (none). */
export const preRefreshCheckParametersSchema = z.strictObject({});

/**
 * zod schema of the `force-refresh-start` parameters. Machines also accepts
 * `check-workload-container`: the Python library declared it there too, so charms migrated from
 * it may still ship it.
 */
export const forceRefreshStartParametersSchema = z.pipe(
  z.strictObject({
    [RefreshActionParameter.checkCompatibility]: flag,
    [RefreshActionParameter.runPreRefreshChecks]: flag,
    [RefreshActionParameter.checkWorkloadContainer]: flag,
  }),
  z.transform(
    (params): ForceRefreshStartParameters => ({
      checkCompatibility: params["check-compatibility"],
      runPreRefreshChecks: params["run-pre-refresh-checks"],
      checkWorkloadContainer: params["check-workload-container"],
    }),
  ),
);

/** zod schema of the `resume-refresh` parameters. */
export const resumeRefreshParametersSchema = z.pipe(
  z.strictObject({ [RefreshActionParameter.checkHealthOfRefreshedUnits]: flag }),
  z.transform((params): ResumeRefreshParameters => ({ checkHealthOfRefreshedUnits: params["check-health-of-refreshed-units"] })),
);

function parseWith<T>(action: RefreshActionName, schema: z.core.$ZodType<T>, raw: unknown): T {
  const parsed = z.safeParse(schema, raw ?? {}, englishIssues);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw new InvalidActionParameters(action, undefined, "the parameters are invalid");
  if (issue.code === "unrecognized_keys") {
    const [parameter] = issue.keys;
    throw new InvalidActionParameters(action, parameter, "is not a parameter of this action");
  }
  const parameter = typeof issue.path[0] === "string" ? issue.path[0] : undefined;
  throw new InvalidActionParameters(action, parameter, issue.code === "invalid_type" ? `must be ${issue.expected}` : issue.message);
}

/** Checks the `pre-refresh-check` parameters (from `action-get`); throws {@link InvalidActionParameters}. */
export function parsePreRefreshCheckParameters(raw: unknown): Record<string, never> {
  return parseWith(RefreshAction.preRefreshCheck, preRefreshCheckParametersSchema, raw) as Record<string, never>;
}

/** Parses the `force-refresh-start` parameters (from `action-get`); throws {@link InvalidActionParameters}. */
export function parseForceRefreshStartParameters(raw: unknown): ForceRefreshStartParameters {
  return parseWith(RefreshAction.forceRefreshStart, forceRefreshStartParametersSchema, raw);
}

/** Parses the `resume-refresh` parameters (from `action-get`); throws {@link InvalidActionParameters}. */
export function parseResumeRefreshParameters(raw: unknown): ResumeRefreshParameters {
  return parseWith(RefreshAction.resumeRefresh, resumeRefreshParametersSchema, raw);
}

/**
 * The checks a `force-refresh-start` run skips, as `parameter=false`, in the order the checks
 * run (workload container, compatibility, pre-refresh checks), for the substrates' logs.
 */
export function skippedChecks(params: ForceRefreshStartParameters): string[] {
  const skipped: string[] = [];
  if (!params.checkWorkloadContainer) skipped.push(`${RefreshActionParameter.checkWorkloadContainer}=false`);
  if (!params.checkCompatibility) skipped.push(`${RefreshActionParameter.checkCompatibility}=false`);
  if (!params.runPreRefreshChecks) skipped.push(`${RefreshActionParameter.runPreRefreshChecks}=false`);
  return skipped;
}

/** Whether a `force-refresh-start` run skips anything: it is refused when every check stays on. */
export function forceRefreshStartSkipsAnyCheck(params: ForceRefreshStartParameters): boolean {
  return skippedChecks(params).length > 0;
}
