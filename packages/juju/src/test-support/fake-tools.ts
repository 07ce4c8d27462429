import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What a fake hook tool does when run. */
export interface FakeToolBehaviour {
  /** Printed on stdout. */
  readonly stdout?: string;
  /** Printed on stderr. */
  readonly stderr?: string;
  /** @default 0 */
  readonly exitCode?: number;
  /** Read stdin to the end and record it (tools given `--file -`). */
  readonly readStdin?: boolean;
}

/** One recorded run of a fake tool, exactly as the process received it. */
export interface RecordedCall {
  readonly tool: string;
  readonly args: string[];
  /** `undefined` unless the tool was installed with `readStdin`. */
  readonly stdin: string | undefined;
}

/**
 * A directory of fake hook-tool executables (real `/bin/sh` scripts) for tests of the real
 * process path: each records its argv (NUL-separated, so any byte survives) and stdin, then
 * prints canned output and exits with a canned code.
 */
export interface FakeToolbox {
  /** The directory to put first on `PATH`. */
  readonly bin: string;
  /** An environment whose `PATH` finds the fake tools and the few system tools the scripts use. */
  env(extra?: Readonly<Record<string, string>>): Record<string, string>;
  /** Installs (or replaces) one tool. */
  install(tool: string, behaviour?: FakeToolBehaviour): Promise<void>;
  /** Every call so far, in the order the tools started. */
  calls(): Promise<RecordedCall[]>;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/** Creates an empty {@link FakeToolbox} in a fresh temporary directory. */
export async function createFakeToolbox(): Promise<FakeToolbox> {
  const root = await mkdtemp(join(tmpdir(), "refresh-juju-tools-"));
  const bin = join(root, "bin");
  const canned = join(root, "canned");
  const callsDir = join(root, "calls");
  await Promise.all([mkdir(bin), mkdir(canned), mkdir(callsDir)]);

  return {
    bin,
    env: (extra = {}) => ({ PATH: `${bin}:/usr/bin:/bin`, ...extra }),
    async install(tool, behaviour = {}) {
      const out = join(canned, `${tool}.stdout`);
      const err = join(canned, `${tool}.stderr`);
      await writeFile(out, behaviour.stdout ?? "");
      await writeFile(err, behaviour.stderr ?? "");
      const script = [
        "#!/bin/sh",
        // Nanoseconds then pid: sortable in start order and unique per call.
        `record=${quote(callsDir)}/$(date +%s%N)-$$`,
        `printf '%s\\0' "\${0##*/}" "$@" > "$record.args"`,
        behaviour.readStdin === true ? `cat > "$record.stdin"` : "",
        `cat ${quote(out)}`,
        `cat ${quote(err)} >&2`,
        `exit ${behaviour.exitCode ?? 0}`,
        "",
      ].join("\n");
      const path = join(bin, tool);
      await writeFile(path, script);
      await chmod(path, 0o755);
    },
    async calls() {
      const names = (await readdir(callsDir)).filter((name) => name.endsWith(".args")).sort();
      return Promise.all(
        names.map(async (name) => {
          const fields = (await readFile(join(callsDir, name), "utf8")).split("\0");
          fields.pop(); // after the last terminator
          const [tool = "", ...args] = fields;
          const stdinPath = join(callsDir, name.replace(/\.args$/, ".stdin"));
          const stdin = await readFile(stdinPath, "utf8").catch(() => undefined);
          return { tool, args, stdin };
        }),
      );
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A single-quoted shell word; only ever used for the test's own temporary paths. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
