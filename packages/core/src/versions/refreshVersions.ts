import { readFileSync } from "node:fs";
import { machine as currentMachine } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import * as z from "zod/mini";
import { RefreshError } from "../errors.js";
import { englishIssues, issueProblem } from "../validation.js";
import { CharmVersion, InvalidCharmVersion } from "./charmVersion.js";

/** File name of the versions file, at the root of the charm directory. */
export const REFRESH_VERSIONS_FILE = "refresh_versions.toml";

/**
 * Architecture names allowed as keys of `[snap.revisions]`: the names `uname -m` prints (and
 * Node's `os.machine()` returns), not Debian's (`amd64`) nor Node's `os.arch()` (`x64`).
 */
export const MACHINE_ARCHITECTURES = ["x86_64", "aarch64", "s390x", "ppc64le", "riscv64", "armv7l"] as const;

/** One of {@link MACHINE_ARCHITECTURES}. */
export type MachineArchitecture = (typeof MACHINE_ARCHITECTURES)[number];

// Names people write by habit, mapped to the `uname -m` name they mean.
const ARCHITECTURE_ALIASES: Readonly<Record<string, MachineArchitecture>> = {
  amd64: "x86_64",
  x64: "x86_64",
  arm64: "aarch64",
  ppc64el: "ppc64le",
  ppc64: "ppc64le",
  armhf: "armv7l",
  arm: "armv7l",
  riscv: "riscv64",
};

/** Keeps the lower-priority unit status (`<workload name> <version> ...`) under Juju's 120-character limit. */
export const MAX_WORKLOAD_NAME_AND_VERSION_LENGTH = 43;

/**
 * `refresh_versions.toml` is missing, is not TOML, or lacks or has a bad value for a key.
 * `problems` lists each problem as `<key>: <what is wrong and how to fix it>`.
 */
export class InvalidRefreshVersions extends RefreshError {
  /** Where the file was read from. */
  readonly source: string;
  /** Each problem found, `<key>: <what is wrong and how to fix it>`. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super("INVALID_REFRESH_VERSIONS", `${source} is not valid: ${problems.join("; ")}`, {
      ...options,
      resolution: `fix ${source} in the charm and build the charm again`,
    });
    this.source = source;
    this.problems = Object.freeze([...problems]);
  }
}

/**
 * `refresh_versions.toml` pins no snap revision for the architecture of this machine, so the
 * charm cannot install its workload here.
 */
export class SnapRevisionMissingForArchitecture extends RefreshError {
  /** The `uname -m` name of this machine's architecture. */
  readonly architecture: string;
  /** Architectures the file does pin a revision for. */
  readonly available: readonly string[];

  constructor(source: string, architecture: string, available: readonly string[]) {
    const listed = available.length === 0 ? "none" : available.join(", ");
    super(
      "SNAP_REVISION_MISSING_FOR_ARCHITECTURE",
      `${source} pins no snap revision for architecture ${JSON.stringify(architecture)} (pinned: ${listed}); ` +
        `this charm does not support this machine's architecture. Deploy on a supported architecture, or ` +
        `add "${architecture} = \\"<revision>\\"" under [snap.revisions] and build the charm again`,
      { resolution: `add ${architecture} under [snap.revisions] in ${source}` },
    );
    this.architecture = architecture;
    this.available = Object.freeze([...available]);
  }
}

/**
 * `workloadName + " " + workloadVersion` is longer than 43 characters. The library shows it at
 * the start of the unit status, and Juju cuts statuses at 120 characters: a longer name would
 * cut off the part of the status that tells the user what to do.
 */
export class WorkloadNameTooLong extends RefreshError {
  /** Characters counted in `workloadName + " " + workloadVersion`. */
  readonly length: number;

  constructor(workloadName: string, workloadVersion: string, length: number) {
    super(
      "WORKLOAD_NAME_TOO_LONG",
      `workload name and version ${JSON.stringify(`${workloadName} ${workloadVersion}`)} are ${length} characters ` +
        `long; at most ${MAX_WORKLOAD_NAME_AND_VERSION_LENGTH} fit, because they start the unit status and Juju ` +
        `truncates statuses at 120 characters, which would hide what the user should do. Use a shorter workload name`,
      { resolution: "shorten the workload name given to the refresh library" },
    );
    this.length = length;
  }
}

/**
 * Checks that `workloadName + " " + workloadVersion` fits in 43 characters (counted as
 * Unicode code points). Substrates call it when they are constructed.
 * @throws {WorkloadNameTooLong} when it does not fit.
 */
export function checkWorkloadNameLength(workloadName: string, workloadVersion: string): void {
  const length = [...`${workloadName} ${workloadVersion}`].length;
  if (length > MAX_WORKLOAD_NAME_AND_VERSION_LENGTH) {
    throw new WorkloadNameTooLong(workloadName, workloadVersion, length);
  }
}

const nonEmptyString = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `is missing; ${what}` : `must be a string; ${what}`) })
    .check(z.refine((value) => value.trim() !== "", { error: `is empty; ${what}` }));

const snapRevisionsSchema = z.pipe(
  z
    .record(z.string(), z.unknown(), {
      error: (issue) => (issue.input === undefined ? "is missing; add a [snap.revisions] table" : "must be a table"),
    })
    // Keys and values are checked together so that one bad value does not hide a bad key.
    .check(
      z.superRefine((revisions, context) => {
        for (const [key, value] of Object.entries(revisions)) {
          if (!(MACHINE_ARCHITECTURES as readonly string[]).includes(key)) {
            const alias = ARCHITECTURE_ALIASES[key];
            context.addIssue({
              code: "custom",
              path: [key],
              message:
                "is not an architecture name as `uname -m` prints it" +
                (alias === undefined ? "" : ` (write ${alias} instead of ${key})`) +
                `; use one of ${MACHINE_ARCHITECTURES.join(", ")}`,
            });
          }
          if (typeof value !== "string") {
            context.addIssue({ code: "custom", path: [key], message: `must be a string of digits, e.g. ${key} = "123" (quoted)` });
          } else if (!/^[0-9]+$/.test(value)) {
            context.addIssue({ code: "custom", path: [key], message: 'must be a snap revision number written as a string, e.g. "123"' });
          }
        }
        if (Object.keys(revisions).length === 0) {
          context.addIssue({ code: "custom", message: "is empty; pin a revision for each supported architecture" });
        }
      }),
    ),
  z.transform((revisions) => revisions as Record<string, string>),
);

const snapSchema = z.object(
  {
    name: nonEmptyString('set it to the name of the workload snap, e.g. name = "charmed-postgresql"'),
    revisions: snapRevisionsSchema,
  },
  { error: "must be a table with name and [snap.revisions]" },
);

// Parsed once, in the transform: this file is read on every event.
const charmVersionSchema = z.pipe(
  nonEmptyString('it holds the charm version ("<track>/<major>.<minor>.<patch>") written at build time from the git tag'),
  z.transform((text, context) => {
    try {
      return new CharmVersion(text);
    } catch (error) {
      if (!(error instanceof InvalidCharmVersion)) throw error;
      context.issues.push({ code: "custom", message: error.message, input: text });
      return z.NEVER;
    }
  }),
);

/**
 * The schema of `refresh_versions.toml` at runtime. Keys it does not know (such as
 * `charm_major`, which the source file holds) are ignored.
 */
export const refreshVersionsSchema = z.object({
  charm: charmVersionSchema,
  workload: nonEmptyString('set it to the upstream workload version the charm pins, e.g. workload = "16.8"'),
  snap: z.optional(snapSchema),
});

/** The pinned snap of a machine charm: its name and a revision per architecture. */
export interface PinnedSnap {
  /** Snap name, e.g. `charmed-postgresql`. */
  readonly name: string;
  /** Revision per `uname -m` architecture name. */
  readonly revisions: Readonly<Partial<Record<MachineArchitecture, string>>>;
}

/** What `refresh_versions.toml` declares about this build of the charm. */
export interface RefreshVersions {
  /** Version of the charm code. */
  readonly charm: CharmVersion;
  /** Upstream version of the workload this charm build pins. */
  readonly workload: string;
  /** Machine charms only: the workload snap pinned per architecture. */
  readonly snap: PinnedSnap | undefined;
  /** Where it was read from (for error messages). */
  readonly source: string;
}

/**
 * Parses the text of a `refresh_versions.toml`. `source` names it in error messages.
 * @throws {InvalidRefreshVersions} listing every missing or bad key and how to fix it.
 */
export function parseRefreshVersions(text: string, source: string = REFRESH_VERSIONS_FILE): RefreshVersions {
  // The library and the charm both read the file in most events, and parsing (TOML, schema,
  // versions) is the costly part; the result is frozen, so one parse of the same text serves all.
  const key = `${source}\0${text}`;
  const known = parsedRefreshVersions.get(key);
  if (known !== undefined) return known;
  const parsed = parseRefreshVersionsText(text, source);
  if (parsedRefreshVersions.size >= PARSED_REFRESH_VERSIONS_KEPT) parsedRefreshVersions.clear();
  parsedRefreshVersions.set(key, parsed);
  return parsed;
}

/** A charm process reads one file; tests read a few. Enough to never parse one text twice in an event. */
const PARSED_REFRESH_VERSIONS_KEPT = 16;
const parsedRefreshVersions = new Map<string, RefreshVersions>();

function parseRefreshVersionsText(text: string, source: string): RefreshVersions {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new InvalidRefreshVersions(source, [`the file is not valid TOML (${detail})`], { cause: error });
  }
  const result = z.safeParse(refreshVersionsSchema, raw, englishIssues);
  if (!result.success) {
    const hasCharmMajor = typeof raw === "object" && raw !== null && "charm_major" in raw && !("charm" in raw);
    const problems = result.error.issues.map((issue) => {
      if (hasCharmMajor && issue.path.length === 1 && issue.path[0] === "charm") {
        return (
          'charm: is missing but charm_major is present, so this is the source file from the charm repository: the ' +
          'build step that writes "charm" (the charm version, from the git tag) has not run. Build the charm with ' +
          "the project's charm build (which sets it) instead of packing the source as is"
        );
      }
      return issueProblem(issue);
    });
    throw new InvalidRefreshVersions(source, problems, { cause: result.error });
  }
  const { charm, workload, snap } = result.data;
  return Object.freeze({
    charm,
    workload,
    snap:
      snap === undefined
        ? undefined
        : Object.freeze({
            name: snap.name,
            revisions: Object.freeze({ ...snap.revisions }) as Partial<Record<MachineArchitecture, string>>,
          }),
    source,
  });
}

/**
 * Reads `<charmDir>/refresh_versions.toml` (the charm directory is the hook's working
 * directory, e.g. `/var/lib/juju/agents/unit-app-0/charm`).
 * @throws {InvalidRefreshVersions} when the file is missing or invalid.
 */
export async function loadRefreshVersions(charmDir: string): Promise<RefreshVersions> {
  const path = join(charmDir, REFRESH_VERSIONS_FILE);
  let text: string;
  try {
    // A read of a small local file; the synchronous call keeps `node:fs/promises` (and the
    // readline and stream modules it loads) out of the start-up of every event.
    text = readFileSync(path, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new InvalidRefreshVersions(
      path,
      [missing ? "the file does not exist; every charm using the refresh library must ship it at its root" : `the file cannot be read (${String(error)})`],
      { cause: error },
    );
  }
  return parseRefreshVersions(text, path);
}

/**
 * The snap revision pinned for this machine's architecture. `machine` defaults to Node's
 * `os.machine()` (the `uname -m` name); `os.arch()` names differ and must not be used.
 * @throws {InvalidRefreshVersions} when the file has no `[snap]` table.
 * @throws {SnapRevisionMissingForArchitecture} when no revision is pinned for the architecture.
 */
export function pinnedSnapRevision(versions: RefreshVersions, machine: string = currentMachine()): string {
  if (versions.snap === undefined) {
    throw new InvalidRefreshVersions(versions.source, [
      'snap: is missing; machine charms must pin their workload snap in a [snap] table with name and [snap.revisions]',
    ]);
  }
  const revision = (versions.snap.revisions as Readonly<Record<string, string>>)[machine];
  if (revision === undefined) {
    throw new SnapRevisionMissingForArchitecture(versions.source, machine, Object.keys(versions.snap.revisions));
  }
  return revision;
}
