import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { machine } from "node:os";
import { join } from "node:path";
import {
  decodeCharmCodeRefreshHistoryFile,
  encodeCharmCodeRefreshHistoryFile,
  englishIssues,
  LOCAL_STATE_DIR,
  LocalFile,
  LocalStateInvalid,
  loadRefreshVersions,
  pinnedSnapRevision,
  pythonMtimeSeconds,
  InvalidRefreshVersions,
  type CharmCodeRefreshHistory,
  type CharmVersion,
} from "@refresh/core";
import * as z from "zod/mini";

/**
 * The one local file this library keeps beyond the Python library's: the refresh order fixed
 * when the refresh started (the refresh-order extension). The Python library never reads it.
 */
export const REFRESH_ORDER_FILE = "machines_refresh_order.json";

/** The machines files under `.charm_refresh_v3/`: core's shared names plus {@link REFRESH_ORDER_FILE}. */
export type MachinesFileName =
  | typeof LocalFile.machinesLastTwoRefreshesToUpToDateCharmCodeVersion
  | typeof LocalFile.machinesRefreshStarted
  | typeof LocalFile.machinesUnitTearingDown
  | typeof LocalFile.machinesUnitTearingDownLogged
  | typeof LocalFile.machinesPeerRelationInitialized
  | typeof LocalFile.machinesInstalledWorkloadVersion
  | typeof REFRESH_ORDER_FILE;

const refreshOrderSchema = z.array(z.string());

/**
 * This unit's files under `.charm_refresh_v3/`. They survive a charm-code refresh (Juju
 * replaces the charm's files, not the ones the charm created) and a failed hook (unlike
 * databag writes), which is why they are the source the databag is mirrored from.
 */
export class LocalState {
  readonly #directory: string;

  constructor(readonly charmDir: string) {
    this.#directory = join(charmDir, LOCAL_STATE_DIR);
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

  /** The history, or undefined on a fresh install or a unit added by scale-up. Throws `LocalStateInvalid` when unreadable. */
  readHistory(): CharmCodeRefreshHistory | undefined {
    const path = this.#path(LocalFile.machinesLastTwoRefreshesToUpToDateCharmCodeVersion);
    if (!existsSync(path)) return undefined;
    return decodeCharmCodeRefreshHistoryFile(readFileSync(path, "utf8"));
  }

  /** Saves the history byte for byte as the Python library writes it (whole-number times keep their `.0`). */
  writeHistory(history: CharmCodeRefreshHistory): void {
    writeFileSync(this.#path(LocalFile.machinesLastTwoRefreshesToUpToDateCharmCodeVersion), encodeCharmCodeRefreshHistoryFile(history));
  }

  /** The workload version of the installed snap, verbatim, or undefined when unknown. */
  readWorkloadVersion(): string | undefined {
    const path = this.#path(LocalFile.machinesInstalledWorkloadVersion);
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  }

  /** Records the workload version of the installed snap (no trailing newline). */
  writeWorkloadVersion(version: string): void {
    writeFileSync(this.#path(LocalFile.machinesInstalledWorkloadVersion), version);
  }

  /** The refresh order fixed when the refresh started, if this unit has one. */
  readRefreshOrder(): string[] | undefined {
    const path = this.#path(REFRESH_ORDER_FILE);
    if (!existsSync(path)) return undefined;
    try {
      return z.parse(refreshOrderSchema, JSON.parse(readFileSync(path, "utf8")), englishIssues);
    } catch (cause) {
      throw new LocalStateInvalid(`${LOCAL_STATE_DIR}/${REFRESH_ORDER_FILE}`, "a JSON list of unit names", { cause });
    }
  }

  /** Fixes the refresh order for the current refresh. */
  writeRefreshOrder(order: readonly string[]): void {
    writeFileSync(this.#path(REFRESH_ORDER_FILE), JSON.stringify(order));
  }
}

/**
 * The mtime of `.juju-charm` as the float Python computes (`sec + nsec * 1e-9`), so that
 * history entries written by the Python library compare equal.
 */
export function charmFileMtime(charmDir: string): number {
  return pythonMtimeSeconds(statSync(join(charmDir, ".juju-charm"), { bigint: true }).mtimeNs);
}

/** The trimmed text of `.juju-charm`, e.g. `ch:amd64/noble/postgresql-602`. */
export function readRawCharmRevision(charmDir: string): string {
  return readFileSync(join(charmDir, ".juju-charm"), "utf8").trim();
}

/** What `refresh_versions.toml` pins for this machine. */
export interface PinnedVersions {
  /** `charm`, e.g. `16/1.19.0`, parsed. */
  readonly charmVersion: CharmVersion;
  /** `workload`, e.g. `16.8`. */
  readonly workloadVersion: string;
  /** `[snap] name`. */
  readonly snapName: string;
  /** `[snap.revisions]` entry for this machine's architecture. */
  readonly snapRevision: string;
}

/**
 * Reads `refresh_versions.toml` from the charm directory through core's loader.
 * `architecture` is a `uname -m` name (`x86_64`, `aarch64`), never Node's `x64`/`arm64`.
 * Throws core's `InvalidRefreshVersions` or `SnapRevisionMissingForArchitecture`.
 */
export async function readPinnedVersions(charmDir: string, architecture: string = machine()): Promise<PinnedVersions> {
  const versions = await loadRefreshVersions(charmDir);
  const snapRevision = pinnedSnapRevision(versions, architecture);
  if (versions.snap === undefined) throw new InvalidRefreshVersions(versions.source, ["snap: is missing"]);
  return { charmVersion: versions.charm, workloadVersion: versions.workload, snapName: versions.snap.name, snapRevision };
}

/**
 * The name of the workload snap, from `refresh_versions.toml`. Use it instead of a
 * hard-coded name outside `refreshSnap`; it never changes across charm revisions. Fails like
 * `Machines.create` when the file is invalid or pins nothing for this architecture.
 */
export async function snapName(charmDir: string, architecture: string = machine()): Promise<string> {
  return (await readPinnedVersions(charmDir, architecture)).snapName;
}
