import { OriginalVersionsInvalid } from "../errors.js";
import { CharmVersion, InvalidCharmVersion } from "../versions/charmVersion.js";
import type { DatabagUpdate, DecodedDatabag } from "./databag.js";
import { appDatabag, type AppFields } from "./databags.js";

/** Fields every set of original versions has, whatever the workload matched. */
interface OriginalVersionsBase {
  /** Original OCI image digest (`sha256:…`, Kubernetes) or snap revision (machines). */
  readonly workloadContainerVersion: string;
  /** Original charm version text, e.g. `16/1.19.0`; always parses as a `CharmVersion`. */
  readonly charmVersion: string;
  /** Original raw `.juju-charm` content, e.g. `ch:amd64/noble/postgresql-602`. */
  readonly charmRevision: string;
}

/**
 * The versions the application ran before the current refresh, as the leader saved them while
 * no refresh was in progress. The workload version is known exactly when the original workload
 * matched the original charm's pin.
 */
export type OriginalVersions = OriginalVersionsBase &
  (
    | { readonly workloadMatchedPin: true; readonly workloadVersion: string }
    | { readonly workloadMatchedPin: false; readonly workloadVersion: null }
  );

/**
 * Checks that a stored charm version parses as a {@link CharmVersion}, so that callers of
 * {@link readOriginalVersions} can parse `charmVersion` without a failure path. Returns what is
 * wrong, or undefined.
 */
export function charmVersionTextProblem(text: string): string | undefined {
  try {
    new CharmVersion(text);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidCharmVersion) return error.message;
    throw error;
  }
}

/**
 * Reads the original versions from a decoded application databag, or throws
 * {@link OriginalVersionsInvalid} listing every problem: a key missing or malformed, a charm
 * version that does not parse, or the workload version contradicting the matched-pin flag.
 * Only call it while a refresh is in progress (or on the leader about to overwrite them): a
 * fresh deployment has no original versions yet.
 */
export function readOriginalVersions(app: DecodedDatabag<AppFields>): OriginalVersions {
  const problems: string[] = [];
  const { values, invalid } = app;
  const need = (name: keyof AppFields): void => {
    const { key } = appDatabag.fields[name];
    if (invalid.has(name)) problems.push(`"${key}" holds an invalid value`);
    else if (values[name] === undefined) problems.push(`"${key}" is missing`);
  };
  need("originalWorkloadVersion");
  need("originalWorkloadContainerVersion");
  need("originalWorkloadMatchedPin");
  need("originalCharmVersion");
  need("originalCharmRevision");

  const {
    originalWorkloadVersion: workloadVersion,
    originalWorkloadContainerVersion: workloadContainerVersion,
    originalWorkloadMatchedPin: workloadMatchedPin,
    originalCharmVersion: charmVersion,
    originalCharmRevision: charmRevision,
  } = values;

  if (charmVersion !== undefined) {
    const problem = charmVersionTextProblem(charmVersion);
    if (problem !== undefined) problems.push(`"${appDatabag.fields.originalCharmVersion.key}": ${problem}`);
  }
  if (workloadMatchedPin === true && workloadVersion === null) {
    problems.push("the original workload matched its pin but has no workload version");
  }
  if (workloadMatchedPin === false && typeof workloadVersion === "string") {
    problems.push("the original workload did not match its pin but has a workload version");
  }
  if (
    problems.length > 0 ||
    workloadVersion === undefined ||
    workloadContainerVersion === undefined ||
    workloadMatchedPin === undefined ||
    charmVersion === undefined ||
    charmRevision === undefined
  ) {
    throw new OriginalVersionsInvalid(problems);
  }
  const base = { workloadContainerVersion, charmVersion, charmRevision };
  return workloadMatchedPin
    ? { ...base, workloadMatchedPin, workloadVersion: workloadVersion as string }
    : { ...base, workloadMatchedPin, workloadVersion: null };
}

/** The application databag update that saves `versions` (pass it to `appDatabag.planWrite`). */
export function originalVersionsUpdate(versions: OriginalVersions): DatabagUpdate<AppFields> {
  return {
    originalWorkloadVersion: versions.workloadVersion,
    originalWorkloadContainerVersion: versions.workloadContainerVersion,
    originalWorkloadMatchedPin: versions.workloadMatchedPin,
    originalCharmVersion: versions.charmVersion,
    originalCharmRevision: versions.charmRevision,
  };
}

/**
 * The Charmhub revision in a raw `.juju-charm` text (`ch:amd64/noble/postgresql-602` → `602`),
 * or undefined for charms not from Charmhub (`local:…`), which have no revision to refresh to.
 */
export function charmhubRevision(rawCharmRevision: string): string | undefined {
  if (!rawCharmRevision.startsWith("ch:")) return undefined;
  const dash = rawCharmRevision.lastIndexOf("-");
  return dash === -1 ? undefined : rawCharmRevision.slice(dash + 1);
}
