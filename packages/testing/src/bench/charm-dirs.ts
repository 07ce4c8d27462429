/**
 * Charm directories for process-mode worlds, laid out as a packed charm is: the charm's code as
 * the bundler writes it, behind an executable `dispatch`. The bundler is passed in, so this
 * package needs no dependency on `@refresh/charm-build`.
 */
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The part of `@refresh/charm-build` that writes a charm's code and its `dispatch`. */
export interface CharmBundler {
  /** The bundled charm inside a charm directory, e.g. `dist/charm.cjs`. */
  readonly CHARM_BUNDLE_PATH: string;
  /** The file `dispatch` starts inside a charm directory; its extension sets the module format. */
  readonly START_SCRIPT_PATH: string;
  /** Writes the code of a charm whose entry module is `entry` into the charm directory `charmDir`. */
  writeCharmCode(entry: string, charmDir: string): Promise<void>;
  /** The `dispatch` script Juju runs for a charm with this `metadata.yaml`; it starts {@link START_SCRIPT_PATH}. */
  dispatchFor(metadataYaml: string): string;
}

/** Options of {@link writeBundledCharmDirs}. */
export interface BundledCharmDirsOptions {
  /** `@refresh/charm-build` (or anything bundling the same way). */
  readonly bundler: CharmBundler;
  /** The charm's entry module (a file path). */
  readonly entry: string;
  /** An existing directory to write into; the caller removes it. */
  readonly root: string;
  /** One charm directory is written per revision, at `<root>/r<revision>`. */
  readonly revisions: readonly number[];
  /** Further files (metadata.yaml and the like) per revision, relative to its directory. */
  readonly files?: (revision: number) => Readonly<Record<string, string>>;
}

/**
 * Bundles the charm once and writes one charm directory per revision, every one running the
 * same code (revisions differ in the files given for them). Returns each revision's directory.
 */
export async function writeBundledCharmDirs(options: BundledCharmDirsOptions): Promise<ReadonlyMap<number, string>> {
  const code = await mkdtemp(join(options.root, "code-"));
  await options.bundler.writeCharmCode(options.entry, code);
  const dirs = new Map<number, string>();
  for (const revision of options.revisions) {
    const dir = join(options.root, `r${revision}`);
    await cp(code, dir, { recursive: true });
    const files = options.files?.(revision) ?? {};
    await writeFile(join(dir, "dispatch"), options.bundler.dispatchFor(files["metadata.yaml"] ?? ""));
    await chmod(join(dir, "dispatch"), 0o755);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    dirs.set(revision, dir);
  }
  await rm(code, { recursive: true, force: true });
  return dirs;
}
