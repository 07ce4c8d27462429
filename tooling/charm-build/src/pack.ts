import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import type { BuildFailure, Message } from "esbuild";
import { zipSync, type Zippable } from "fflate";
import { charmVersionFromGit, describeRepository, setCharmVersion } from "./charm-version.ts";
import { CharmBuildError } from "./errors.ts";
import { CHARM_BUNDLE_PATH, dispatchFor, splitCharmcraftYaml, START_SCRIPT_PATH } from "./layout.ts";
import { CODE_CACHE_DIR } from "./runtime/paths.ts";
import { fetchNodeRuntime } from "./node-runtime.ts";

/** How to build one charm directory from a charm's source tree. */
export interface BuildCharmOptions {
  /** The charm's source tree: holds `charmcraft.yaml`, `refresh_versions.toml` and the entry. */
  readonly appDir: string;
  /** Where the unpacked charm goes (emptied first). */
  readonly outDir: string;
  /** The TypeScript entry point, relative to `appDir`. @default "src/charm.ts" */
  readonly entry?: string;
  /** The charm version to write; by default derived from the git tag of `appDir`. */
  readonly charmVersion?: string;
  /** Include a Node runtime for this `uname -m` architecture and Node version. */
  readonly node?: { readonly machine: string; readonly version: string };
}

/** Builds the directory Juju would unpack: dispatch, one bundled JS file, metadata, versions. */
export async function buildCharm(options: BuildCharmOptions): Promise<{ charmDir: string; charmVersion: string }> {
  const { appDir, outDir } = options;
  const charmcraft = await readRequired(join(appDir, "charmcraft.yaml"));
  const versions = await readRequired(join(appDir, "refresh_versions.toml"));
  const charmVersion = options.charmVersion ?? charmVersionFromGit(await describeRepository(appDir));

  await rm(outDir, { recursive: true, force: true });
  await writeCharmCode(join(appDir, options.entry ?? "src/charm.ts"), outDir);

  const files = splitCharmcraftYaml(charmcraft);
  for (const [name, content] of Object.entries(files)) {
    if (content !== undefined) await writeFile(join(outDir, name), content);
  }
  await writeFile(join(outDir, "refresh_versions.toml"), setCharmVersion(versions, charmVersion));
  await writeFile(join(outDir, "dispatch"), dispatchFor(files["metadata.yaml"]));
  await chmod(join(outDir, "dispatch"), 0o755);
  if (options.node) {
    await mkdir(join(outDir, "bin"), { recursive: true });
    await fetchNodeRuntime(options.node.machine, options.node.version, join(outDir, "bin", "node"));
    await chmod(join(outDir, "bin", "node"), 0o755);
  }
  return { charmDir: outDir, charmVersion };
}

/**
 * Writes a charm directory's code: the charm bundled from `entry` at {@link CHARM_BUNDLE_PATH}
 * and, at {@link START_SCRIPT_PATH}, the script `dispatch` starts, which runs the bundle with
 * a code cache made after the code ran (see runtime/code-cache.ts).
 */
export async function writeCharmCode(entry: string, charmDir: string): Promise<void> {
  await bundle(entry, join(charmDir, CHARM_BUNDLE_PATH));
  // Resolved through the package's own name, so that it is found from a bundle of this module
  // too (refresh-sim bundles charm-build into its command).
  await bundle(createRequire(import.meta.url).resolve("@refresh/charm-build/start"), join(charmDir, START_SCRIPT_PATH));
}

/**
 * Bundles the charm into one CommonJS file (see {@link CHARM_BUNDLE_PATH}) with no
 * `node_modules` at run time. Workspace packages are taken from source, so a charm builds
 * without building the libraries first.
 * @throws {CharmBuildError} `TOP_LEVEL_AWAIT` when the entry awaits at its top level, which a
 * CommonJS bundle cannot do; `BUNDLE_FAILED` for any other error esbuild reports.
 */
export async function bundle(entry: string, outfile: string): Promise<void> {
  // esbuild is heavy to import and only the build needs it.
  const { build } = await import("esbuild");
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node22",
      // import() becomes require(): the start script runs the bundle as a vm.Script, where
      // Node's module loader does not serve dynamic imports without an experimental flag.
      supported: { "dynamic-import": false },
      conditions: ["@refresh/source"],
      minifySyntax: true,
      minifyWhitespace: true,
      legalComments: "none",
      logLevel: "silent",
    });
  } catch (error) {
    throw bundleError(entry, error);
  }
}

/** esbuild's failure as a {@link CharmBuildError} that says what to change. */
function bundleError(entry: string, error: unknown): CharmBuildError {
  const messages: readonly Message[] = (error as Partial<BuildFailure>).errors ?? [];
  const where = (message: Message): string => (message.location ? `${message.location.file}:${message.location.line}: ` : "");
  const topLevelAwait = messages.find((message) => /top-level await/i.test(message.text));
  if (topLevelAwait !== undefined) {
    return new CharmBuildError(
      "TOP_LEVEL_AWAIT",
      `${where(topLevelAwait)}the charm is bundled as CommonJS, which cannot await at the top level of a module; start the work without awaiting it, as in \`void runCharm(handleEvent);\` (runCharm reports every failure and sets the exit code itself)`,
      { cause: error },
    );
  }
  const detail = messages.length === 0 ? String(error) : messages.map((message) => `${where(message)}${message.text}`).join("; ");
  return new CharmBuildError("BUNDLE_FAILED", `cannot bundle ${entry}: ${detail}; fix the source and build again`, { cause: error });
}

/** What a charm writes into its own directory when it runs; never part of a package. */
const RUNTIME_ENTRIES = new Set([CODE_CACHE_DIR, ".charm_refresh_v3", ".refresh_cache"]);

/** The fixed timestamp of every zip entry, so the same charm packs to the same bytes. */
const ZIP_TIME = new Date("1980-01-02T00:00:00Z");

/** Zips a charm directory into a `.charm` file, keeping executable bits. */
export async function packCharm(charmDir: string, outFile: string): Promise<void> {
  const entries: Zippable = {};
  for (const file of await listFiles(charmDir)) {
    const { mode } = await stat(file);
    entries[relative(charmDir, file)] = [await readFile(file), { os: 3, attrs: (mode & 0o777 | 0o100000) << 16, mtime: ZIP_TIME }];
  }
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, zipSync(entries, { level: 6 }));
}

async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (RUNTIME_ENTRIES.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(path)));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

async function readRequired(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new CharmBuildError("MISSING_CHARM_FILE", `${path} is missing: every charm built with @refresh needs it`, { cause: error });
  }
}
