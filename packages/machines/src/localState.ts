import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { machine } from "node:os";
import { join } from "node:path";
import { RefreshError } from "@refresh/core";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import type { CharmCodeRefresh } from "./decisions.js";

/** Local state directory, relative to the charm directory (shared with the Python library). */
export const LOCAL_STATE_DIRECTORY = ".charm_refresh_v3";

/** File names under {@link LOCAL_STATE_DIRECTORY}; identical to the Python library's. */
export const MachinesFile = {
  history: "machines_last_two_refreshes_to_up_to_date_charm_code_version.json",
  refreshStarted: "machines_refresh_started",
  tearingDown: "machines_unit_tearing_down",
  tearingDownLogged: "machines_unit_tearing_down_logged",
  peerRelationInitialized: "machines_peer_relation_initialized",
  installedWorkloadVersion: "machines_installed_workload_version",
  /** This library only: the refresh order fixed when the refresh started on this unit. */
  refreshOrder: "machines_refresh_order.json",
} as const;

/** A name in {@link MachinesFile}. */
export type MachinesFileName = (typeof MachinesFile)[keyof typeof MachinesFile];

/** A local file the library wrote cannot be read back (edited by hand, or a disk problem). */
export class MachinesLocalStateInvalid extends RefreshError {
  constructor(path: string, expected: string, cause: unknown) {
    super(
      "LOCAL_STATE_INVALID",
      `the refresh state file ${path} is not ${expected}; delete it (the library recreates it as after a fresh install) and run \`juju resolve\` on this unit`,
      { cause, resolution: `delete ${path} on the unit, then run \`juju resolve\`` },
    );
  }
}

/** `refresh_versions.toml` is missing, malformed, or lacks this machine's architecture. */
export class RefreshVersionsInvalid extends RefreshError {
  constructor(detail: string, cause?: unknown) {
    super("REFRESH_VERSIONS_INVALID", `refresh_versions.toml in the charm: ${detail}; the charm was built wrongly, contact its developers`, {
      ...(cause === undefined ? {} : { cause }),
      resolution: "roll back with `juju refresh` to the previous revision",
    });
  }
}

/** The last two confirmed charm-code refreshes of this unit. */
export interface RefreshHistory {
  readonly latest: CharmCodeRefresh;
  readonly secondToLast: CharmCodeRefresh | undefined;
}

const storedEntry = z.object({ charm_revision: z.string(), time_of_refresh: z.number() });
const storedHistory = z.looseObject({
  last_refresh_to_up_to_date_charm_code_version: storedEntry,
  second_to_last_refresh_to_up_to_date_charm_code_version: storedEntry.nullable(),
});

const toEntry = (stored: z.infer<typeof storedEntry>): CharmCodeRefresh => ({ charmRevision: stored.charm_revision, timeOfRefresh: stored.time_of_refresh });
const fromEntry = (entry: CharmCodeRefresh) => ({ charm_revision: entry.charmRevision, time_of_refresh: entry.timeOfRefresh });

/**
 * This unit's files under `.charm_refresh_v3/`. They survive a charm-code refresh (Juju
 * replaces the charm's files, not the ones the charm created) and a failed hook (unlike
 * databag writes), which is why they are the source the databag is mirrored from.
 */
export class LocalState {
  readonly #directory: string;

  constructor(readonly charmDir: string) {
    this.#directory = join(charmDir, LOCAL_STATE_DIRECTORY);
    mkdirSync(this.#directory, { recursive: true });
  }

  #path(file: MachinesFileName): string {
    return join(this.#directory, file);
  }

  /** Whether `file` exists. */
  has(file: MachinesFileName): boolean {
    return existsSync(this.#path(file));
  }

  /** Creates an empty marker file. */
  mark(file: MachinesFileName): void {
    writeFileSync(this.#path(file), "");
  }

  /** Deletes `file` if it exists. */
  remove(file: MachinesFileName): void {
    rmSync(this.#path(file), { force: true });
  }

  /** The history, or undefined on a fresh install or a unit added by scale-up. */
  readHistory(): RefreshHistory | undefined {
    const path = this.#path(MachinesFile.history);
    if (!existsSync(path)) return undefined;
    try {
      const stored = storedHistory.parse(JSON.parse(readFileSync(path, "utf8")));
      const second = stored.second_to_last_refresh_to_up_to_date_charm_code_version;
      return { latest: toEntry(stored.last_refresh_to_up_to_date_charm_code_version), secondToLast: second === null ? undefined : toEntry(second) };
    } catch (cause) {
      throw new MachinesLocalStateInvalid(`${LOCAL_STATE_DIRECTORY}/${MachinesFile.history}`, "a valid refresh history", cause);
    }
  }

  /** Saves the history (indented like the Python library's file). */
  writeHistory(history: RefreshHistory): void {
    const stored = {
      last_refresh_to_up_to_date_charm_code_version: fromEntry(history.latest),
      second_to_last_refresh_to_up_to_date_charm_code_version: history.secondToLast === undefined ? null : fromEntry(history.secondToLast),
    };
    writeFileSync(this.#path(MachinesFile.history), JSON.stringify(stored, null, 4));
  }

  /** The workload version of the installed snap, verbatim, or undefined when unknown. */
  readWorkloadVersion(): string | undefined {
    const path = this.#path(MachinesFile.installedWorkloadVersion);
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  }

  /** Records the workload version of the installed snap (no trailing newline). */
  writeWorkloadVersion(version: string): void {
    writeFileSync(this.#path(MachinesFile.installedWorkloadVersion), version);
  }

  /** The refresh order fixed when the refresh started, if this unit has one. */
  readRefreshOrder(): string[] | undefined {
    const path = this.#path(MachinesFile.refreshOrder);
    if (!existsSync(path)) return undefined;
    try {
      return z.array(z.string()).parse(JSON.parse(readFileSync(path, "utf8")));
    } catch (cause) {
      throw new MachinesLocalStateInvalid(`${LOCAL_STATE_DIRECTORY}/${MachinesFile.refreshOrder}`, "a JSON list of unit names", cause);
    }
  }

  /** Fixes the refresh order for the current refresh. */
  writeRefreshOrder(order: readonly string[]): void {
    writeFileSync(this.#path(MachinesFile.refreshOrder), JSON.stringify(order));
  }
}

/**
 * The mtime of `.juju-charm` as the float Python computes (`sec + nsec * 1e-9`), so that
 * history entries written by the Python library compare equal.
 */
export function charmFileMtime(charmDir: string): number {
  const { mtimeNs } = statSync(join(charmDir, ".juju-charm"), { bigint: true });
  return Number(mtimeNs / 1_000_000_000n) + Number(mtimeNs % 1_000_000_000n) * 1e-9;
}

/** The trimmed text of `.juju-charm`, e.g. `ch:amd64/noble/postgresql-602`. */
export function readRawCharmRevision(charmDir: string): string {
  return readFileSync(join(charmDir, ".juju-charm"), "utf8").trim();
}

/** What `refresh_versions.toml` pins for this machine. */
export interface PinnedVersions {
  /** `charm`, e.g. `16/1.19.0`. */
  readonly charmVersion: string;
  /** `workload`, e.g. `16.8`. */
  readonly workloadVersion: string;
  /** `[snap] name`. */
  readonly snapName: string;
  /** `[snap.revisions]` entry for this machine's architecture. */
  readonly snapRevision: string;
}

const refreshVersionsSchema = z.looseObject({
  charm: z.string(),
  workload: z.string(),
  snap: z.looseObject({ name: z.string(), revisions: z.record(z.string(), z.string()) }),
});

/**
 * Reads `refresh_versions.toml` from the charm directory. `architecture` is a `uname -m`
 * name (`x86_64`, `aarch64`), the keys of `[snap.revisions]`, never Node's `x64`/`arm64`.
 */
export function readPinnedVersions(charmDir: string, architecture: string = machine()): PinnedVersions {
  let parsed: unknown;
  try {
    parsed = parseToml(readFileSync(join(charmDir, "refresh_versions.toml"), "utf8"));
  } catch (cause) {
    throw new RefreshVersionsInvalid("cannot be read as TOML", cause);
  }
  const result = refreshVersionsSchema.safeParse(parsed);
  if (!result.success) {
    throw new RefreshVersionsInvalid(`needs "charm", "workload", [snap] "name" and [snap.revisions]: ${z.prettifyError(result.error)}`, result.error);
  }
  const snapRevision = result.data.snap.revisions[architecture];
  if (snapRevision === undefined) {
    throw new RefreshVersionsInvalid(`[snap.revisions] has no revision for architecture ${architecture}`);
  }
  if (!/^[^/\s]+\/\S+$/.test(result.data.charm)) {
    throw new RefreshVersionsInvalid(`invalid charm version "${result.data.charm}" (expected <track>/<major>.<minor>.<patch>)`);
  }
  return { charmVersion: result.data.charm, workloadVersion: result.data.workload, snapName: result.data.snap.name, snapRevision };
}

/**
 * The name of the workload snap, from `refresh_versions.toml`. Use it instead of a
 * hard-coded name outside `refreshSnap`; it never changes across charm revisions.
 */
export function snapName(charmDir: string): string {
  return readPinnedVersions(charmDir).snapName;
}
