// Deliberately duplicated in apps/sample-machines/src/sample-db.ts (which also remembers the last version run), so each sample charm can be copied on its own.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/**
 * Where the simulated Sample DB keeps its members' state when the hook environment does not
 * say (`SAMPLE_DB_DIR`, set by refresh-sim).
 */
export const DEFAULT_SAMPLE_DB_DIR = "/var/lib/sample-db";

const healthSchema = z.enum(["healthy", "unhealthy"]);

/** What one unit's workload looks like from the charm. */
export interface MemberState {
  /** The workload version the member runs, or undefined when it is stopped. */
  readonly runningVersion: string | undefined;
  /** The member says it is healthy (its health endpoint, in a real database). */
  readonly healthy: boolean;
}

/**
 * The charm's client for its workload: the simulator's Sample DB. A real charm would talk to
 * its database here (Pebble, a snap service, the database's own API); the sample keeps the
 * workload's state in one small file per member, in a directory every unit can read, so a
 * scenario can flip a member's health and the charm reads it as it would read a real
 * health check. `<unit>.running` is written by the charm, `<unit>.health` by the simulator.
 */
export class SampleDb {
  constructor(readonly directory: string) {}

  /** The client for this hook: `SAMPLE_DB_DIR` from the hook environment, else the default. */
  static fromEnvironment(environment: Readonly<Record<string, string | undefined>>): SampleDb {
    const directory = environment["SAMPLE_DB_DIR"];
    return new SampleDb(directory === undefined || directory === "" ? DEFAULT_SAMPLE_DB_DIR : directory);
  }

  /** The state of `unit`'s member. */
  async member(unit: string): Promise<MemberState> {
    const running = await this.#read(`${fileStem(unit)}.running`);
    return { runningVersion: running === undefined || running === "" ? undefined : running, healthy: await this.#healthy(unit) };
  }

  /** Starts `unit`'s member on `version`. */
  async start(unit: string, version: string): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await writeFile(join(this.directory, `${fileStem(unit)}.running`), version);
  }

  /** Stops `unit`'s member (its container or service goes away). */
  async stop(unit: string): Promise<void> {
    await rm(join(this.directory, `${fileStem(unit)}.running`), { force: true });
  }

  /** Units whose member reports itself unhealthy, sorted. */
  async unhealthyMembers(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return [];
    }
    const unhealthy: string[] = [];
    for (const name of names.filter((file) => file.endsWith(".health")).sort()) {
      const unit = unitFromStem(name.slice(0, -".health".length));
      if (!(await this.#healthy(unit))) unhealthy.push(unit);
    }
    return unhealthy;
  }

  async #healthy(unit: string): Promise<boolean> {
    const text = await this.#read(`${fileStem(unit)}.health`);
    if (text === undefined) return true;
    // A file the charm cannot read as a health answer counts as unhealthy: refreshing on a
    // guess is what the checks exist to prevent.
    const parsed = healthSchema.safeParse(text.trim());
    return parsed.success && parsed.data === "healthy";
  }

  async #read(file: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.directory, file), "utf8");
    } catch {
      return undefined;
    }
  }
}

/** `sample-k8s/2` → `sample-k8s-2`: unit names contain a slash, file names cannot. */
export function fileStem(unit: string): string {
  return unit.replace("/", "-");
}

function unitFromStem(stem: string): string {
  const dash = stem.lastIndexOf("-");
  return dash < 0 ? stem : `${stem.slice(0, dash)}/${stem.slice(dash + 1)}`;
}
