import * as z from "zod/mini";
import { RefreshError } from "../errors.js";
import { englishIssues, issueProblem } from "../validation.js";
import { InvalidConstraint, parseConstraint } from "./constraint.js";
import { Pep440Version } from "./pep440.js";

function constraintProblem(text: string): string | undefined {
  try {
    parseConstraint(text);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidConstraint) return error.message;
    throw error;
  }
}

/**
 * The schema of one component's version declaration (the shape the data-platform upgrade
 * library calls `DependencyModel`). All four keys are required and must be strings; keys it
 * does not know are ignored. Beyond the shape it checks, in order: every `dependencies` value
 * and `upgrade_supported` are Poetry constraints; then (only when those hold) `version` is a
 * PEP 440 version inside the model's own `upgrade_supported`, so that a rollback to this
 * very build is always allowed.
 */
export const dependencyModelSchema = z
  .object({
    /** Label of the component (e.g. the workload name); any string. */
    name: z.string(),
    /** PEP 440 version of this component in this build. */
    version: z.string(),
    /** Poetry constraint on the *previous* versions this build can be refreshed from. */
    upgrade_supported: z.string(),
    /** Related application name → Poetry constraint on that application's version. */
    dependencies: z.record(z.string(), z.string()),
  })
  .check(
    z.superRefine((model, context) => {
      let constraintsValid = true;
      for (const [app, constraint] of Object.entries(model.dependencies)) {
        const problem = constraintProblem(constraint);
        if (problem !== undefined) {
          constraintsValid = false;
          context.addIssue({ code: "custom", path: ["dependencies", app], message: problem });
        }
      }
      const rangeProblem = constraintProblem(model.upgrade_supported);
      if (rangeProblem !== undefined) {
        context.addIssue({ code: "custom", path: ["upgrade_supported"], message: rangeProblem });
        return;
      }
      if (!constraintsValid) return;
      const version = Pep440Version.tryParse(model.version);
      if (version === undefined) {
        context.addIssue({
          code: "custom",
          path: ["version"],
          message: `${JSON.stringify(model.version)} is not a PEP 440 version (e.g. "1.2.3")`,
        });
      } else if (!parseConstraint(model.upgrade_supported).allows(version)) {
        context.addIssue({
          code: "custom",
          path: ["version"],
          message:
            `${JSON.stringify(model.version)} is outside this build's own upgrade_supported ` +
            `${JSON.stringify(model.upgrade_supported)}, so a rollback to this build would be refused; ` +
            `widen upgrade_supported to include it, or correct version`,
        });
      }
    }),
  );

/** A validated component version declaration; see {@link dependencyModelSchema}. */
export type DependencyModel = z.output<typeof dependencyModelSchema>;

/**
 * A version declaration (`DependencyModel`) that is not valid. `problems` lists each as
 * `<key>: <what is wrong>`.
 */
export class InvalidDependencyModel extends RefreshError {
  /** What was being read, e.g. a label or a databag key. */
  readonly source: string;
  /** Each problem found, `<key>: <what is wrong>`. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super("INVALID_DEPENDENCY_MODEL", `${source} is not a valid version declaration: ${problems.join("; ")}`, {
      ...options,
      resolution: "fix the charm's version declaration (name, version, upgrade_supported, dependencies)",
    });
    this.source = source;
    this.problems = Object.freeze([...problems]);
  }
}

/**
 * Validates a version declaration with {@link dependencyModelSchema}.
 * @throws {InvalidDependencyModel} listing every problem.
 */
export function parseDependencyModel(data: unknown, source = "dependency model"): DependencyModel {
  const result = z.safeParse(dependencyModelSchema, data, englishIssues);
  if (result.success) return result.data;
  throw new InvalidDependencyModel(source, result.error.issues.map(issueProblem), { cause: result.error });
}

/**
 * Whether the build declared by `to` may replace the build declared by `from`: true when
 * `to.upgrade_supported` accepts `from.version` ("the incoming build says which previous
 * versions it can be installed over"). Nothing else is compared; note that this says nothing
 * about direction, so a downgrade passes whenever the older build's range is open-ended.
 * @throws {InvalidConstraint} or {InvalidVersion} only for declarations that were not validated.
 */
export function canUpgrade(from: Pick<DependencyModel, "version">, to: Pick<DependencyModel, "upgrade_supported">): boolean {
  return parseConstraint(to.upgrade_supported).allows(from.version);
}

/** Why a declared dependency on a related application is not met. */
export type DependencyFindingCode =
  | "DEPENDENCY_VERSION_UNKNOWN"
  | "DEPENDENCY_VERSION_INVALID"
  | "DEPENDENCY_VERSION_UNSATISFIED";

/** One declared dependency on a related application that is not met. */
export interface DependencyFinding {
  /** Why it is not met: version not known, not PEP 440, or outside the constraint. */
  readonly code: DependencyFindingCode;
  /** The related application's name (a key of `dependencies`). */
  readonly app: string;
  /** The constraint this build declares on that application's version. */
  readonly constraint: string;
  /** The version the related application reported, when it did. */
  readonly version: string | undefined;
  /** One sentence for logs and statuses: what is wrong and what to do. */
  readonly message: string;
}

/**
 * Checks each of `model.dependencies` against the versions related applications report
 * (`relatedVersions`: application name → version, `undefined` when not reported yet). Returns
 * one finding per unmet dependency, in declaration order; an empty list means all are met.
 * A related application's bad version text is a finding, never an exception, since it comes
 * from another application.
 * @throws {InvalidConstraint} only when `model` was not validated and holds a bad constraint.
 */
export function checkDependencies(
  model: Pick<DependencyModel, "name" | "dependencies">,
  relatedVersions: Readonly<Record<string, string | undefined>>,
): DependencyFinding[] {
  const findings: DependencyFinding[] = [];
  for (const [app, constraintText] of Object.entries(model.dependencies)) {
    const constraint = parseConstraint(constraintText);
    const reported = Object.hasOwn(relatedVersions, app) ? relatedVersions[app] : undefined;
    const needs = `${model.name} needs ${app} ${constraintText}`;
    if (reported === undefined) {
      findings.push({
        code: "DEPENDENCY_VERSION_UNKNOWN",
        app,
        constraint: constraintText,
        version: undefined,
        message: `${needs}, but ${app} has not reported its version; check that ${app} is related and running`,
      });
      continue;
    }
    const version = Pep440Version.tryParse(reported);
    if (version === undefined) {
      findings.push({
        code: "DEPENDENCY_VERSION_INVALID",
        app,
        constraint: constraintText,
        version: reported,
        message: `${needs}, but ${app} reported ${JSON.stringify(reported)}, which is not a PEP 440 version; check the ${app} charm`,
      });
    } else if (!constraint.allows(version)) {
      findings.push({
        code: "DEPENDENCY_VERSION_UNSATISFIED",
        app,
        constraint: constraintText,
        version: reported,
        message: `${needs}, but ${app} runs ${reported}; refresh ${app} to a version in that range first, or roll back`,
      });
    }
  }
  return findings;
}
