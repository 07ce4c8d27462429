import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { cp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { buildCharm, charmVersionFromGit, describeRepository, packCharm } from "@refresh/charm-build";
import { updateCharmcraftYaml, type Substrate } from "@refresh/core";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { formatIssuePath, RefreshSimError } from "./errors.js";

/** How a charm app describes itself in its package.json (`"charm": {…}`). */
const charmFieldSchema = z.object({
  substrate: z.enum(["kubernetes", "machines"]),
  workloadName: z.string().min(1),
});

const revisionSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, "use letters, digits, '.', '_' or '-'"),
  revision: z.number().int().positive(),
  description: z.string().optional(),
  "charm-version": z.string().regex(/^[^/\s]+\/\d+\.\d+\.\d+$/, "write it as <track>/<major>.<minor>.<patch>, e.g. 1/1.2.0"),
  "workload-version": z.string().min(1),
  image: z.string().regex(/^[^@\s]+@sha256:[0-9a-f]{64}$/, "pin the image by digest: <name>@sha256:<64 hex digits>").optional(),
  "snap-revisions": z.record(z.string(), z.string().regex(/^\d+$/, "a snap revision is a number written as a string")).optional(),
});

const revisionsFileSchema = z.strictObject({ revisions: z.array(revisionSchema).min(1) });

/** One charm revision the simulator can deploy or refresh to (an entry of `revisions.yaml`). */
export type RevisionEntry = z.infer<typeof revisionSchema>;

/** A charm app: its directory, what it says about itself, and the revisions it ships. */
export interface CharmApp {
  readonly dir: string;
  /** The charm's name (`name` in charmcraft.yaml): the application name in the simulator. */
  readonly name: string;
  readonly substrate: Substrate;
  readonly workloadName: string;
  readonly revisions: readonly RevisionEntry[];
}

/** A built revision: the entry plus the charm directory made for it. */
export interface BuiltRevision extends RevisionEntry {
  readonly charmDir: string;
}

/** Reads a charm app's package.json `charm` field, charmcraft.yaml name and revisions.yaml. */
export async function loadCharmApp(dir: string): Promise<CharmApp> {
  const appDir = resolve(dir);
  const manifest = await readJsonOrYaml(join(appDir, "package.json"), "json");
  const charmField = charmFieldSchema.safeParse((manifest as { charm?: unknown } | undefined)?.charm);
  if (!charmField.success) {
    throw new RefreshSimError(
      "NOT_A_CHARM_APP",
      `${appDir}/package.json has no valid "charm" field (${describeIssues(charmField.error)}); add "charm": { "substrate": "kubernetes" | "machines", "workloadName": "<name users know>" }`,
      2,
    );
  }
  const charmcraft = await readJsonOrYaml(join(appDir, "charmcraft.yaml"), "yaml");
  const name = (charmcraft as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || name === "") {
    throw new RefreshSimError("NOT_A_CHARM_APP", `${appDir}/charmcraft.yaml has no name; add \`name: <charm name>\``, 2);
  }
  let revisions: RevisionEntry[] = [];
  if (existsSync(join(appDir, "revisions.yaml"))) {
    const parsed = revisionsFileSchema.safeParse(await readJsonOrYaml(join(appDir, "revisions.yaml"), "yaml"));
    if (!parsed.success) {
      throw new RefreshSimError("INVALID_REVISIONS_FILE", `${appDir}/revisions.yaml is invalid: ${describeIssues(parsed.error)}`, 2);
    }
    revisions = parsed.data.revisions;
  }
  return { dir: appDir, name, substrate: charmField.data.substrate, workloadName: charmField.data.workloadName, revisions };
}

/**
 * Adds the refresh actions, the pause option and the peer relation to the app's
 * charmcraft.yaml (a no-op when they are up to date, so the file is only rewritten when the
 * library's definitions changed).
 */
export async function updateAppCharmcraft(app: CharmApp): Promise<boolean> {
  const path = join(app.dir, "charmcraft.yaml");
  const before = await readFile(path, "utf8");
  const after = updateCharmcraftYaml(before, { substrate: app.substrate, workloadName: app.workloadName });
  if (after === before) return false;
  await writeFile(path, after);
  return true;
}

/**
 * `build`: the app's charm directory in `dist/charm` (and a packed `.charm` when asked), with
 * the charm version from the git tag, or a development version when there is no release tag.
 */
export async function buildApp(app: CharmApp, options: { pack?: string; withNode?: string } = {}): Promise<{ charmDir: string; charmVersion: string; packed?: string }> {
  await updateAppCharmcraft(app);
  let charmVersion: string;
  try {
    charmVersion = charmVersionFromGit(await describeRepository(app.dir));
  } catch (error) {
    if ((error as { code?: unknown }).code !== "NO_RELEASE_TAG") throw error;
    // No release tag (a fresh clone, a fork): a development build, never "released", so the
    // default compatibility rule treats it as such.
    const source = parseToml(await readFile(join(app.dir, "refresh_versions.toml"), "utf8"));
    charmVersion = `latest/${String(source["charm_major"] ?? 0)}.0.0.dev0+untagged`;
  }
  const { charmDir } = await buildCharm({
    appDir: app.dir,
    outDir: join(app.dir, "dist", "charm"),
    charmVersion,
    ...(options.withNode === undefined ? {} : { node: { machine: options.withNode, version: process.versions.node } }),
  });
  if (options.pack === undefined) return { charmDir, charmVersion };
  const packed = resolve(app.dir, options.pack);
  await packCharm(charmDir, packed);
  return { charmDir, charmVersion, packed };
}

/**
 * One charm directory per `revisions.yaml` entry, under `dist/revisions/<name>`: the charm
 * code is bundled once, then each revision gets its own charm version, workload version and
 * pinned image or snap revisions. Reused while no input is newer than the last build.
 */
export async function buildRevisions(app: CharmApp, options: { onBuild?: (message: string) => void } = {}): Promise<BuiltRevision[]> {
  if (app.revisions.length === 0) {
    throw new RefreshSimError("NO_REVISIONS", `${app.dir} has no revisions.yaml; list the revisions the simulator may deploy and refresh between`, 2);
  }
  const outDir = join(app.dir, "dist", "revisions");
  const stampPath = join(outDir, ".stamp");
  let stamp = await inputsStamp(app);
  const built = app.revisions.map((entry) => ({ ...entry, charmDir: join(outDir, entry.name) }));
  if (existsSync(stampPath) && (await readFile(stampPath, "utf8")) === stamp && built.every((entry) => existsSync(join(entry.charmDir, "dispatch")))) {
    return built;
  }
  options.onBuild?.(`building ${app.name} revisions ${app.revisions.map((entry) => entry.name).join(", ")}…`);
  // charmcraft.yaml is an input: when it is rewritten, the stamp saved with the build must
  // describe the rewritten file, or the next run would see a change and build again.
  if (await updateAppCharmcraft(app)) stamp = await inputsStamp(app);
  const first = app.revisions[0] as RevisionEntry;
  // Built aside and moved into place, so a concurrent run never sees half a revision.
  const workDir = `${outDir}.${process.pid}.tmp`;
  const baseDir = join(workDir, ".base");
  await rm(workDir, { recursive: true, force: true });
  await buildCharm({ appDir: app.dir, outDir: baseDir, charmVersion: first["charm-version"] });
  const sourceVersions = parseToml(await readFile(join(app.dir, "refresh_versions.toml"), "utf8"));
  const metadata = parseYaml(await readFile(join(baseDir, "metadata.yaml"), "utf8")) as Record<string, unknown>;
  for (const entry of app.revisions) {
    const dir = join(workDir, entry.name);
    await cp(baseDir, dir, { recursive: true });
    await writeFile(join(dir, "refresh_versions.toml"), revisionVersionsToml(sourceVersions, entry));
    if (entry.image !== undefined) await writeFile(join(dir, "metadata.yaml"), stringifyYaml(withImage(metadata, entry.image)));
  }
  await rm(baseDir, { recursive: true, force: true });
  await writeFile(join(workDir, ".stamp"), stamp);
  await rm(outDir, { recursive: true, force: true });
  await rename(workDir, outDir);
  return built;
}

function revisionVersionsToml(source: Record<string, unknown>, entry: RevisionEntry): string {
  const charmVersion = entry["charm-version"];
  const versions: Record<string, unknown> = { ...source, charm: charmVersion, workload: entry["workload-version"] };
  // The build derives the major from the version; keep the pair consistent.
  versions["charm_major"] = Number(charmVersion.split("/")[1]?.split(".")[0]);
  const snapRevisions = entry["snap-revisions"];
  if (snapRevisions !== undefined) {
    const snap = (source["snap"] ?? {}) as Record<string, unknown>;
    versions["snap"] = { ...snap, revisions: snapRevisions };
  }
  return `# Written by refresh-sim for revision ${entry.name} (${entry.revision}).\n${stringifyToml(versions)}\n`;
}

function withImage(metadata: Record<string, unknown>, image: string): Record<string, unknown> {
  const resources = (metadata["resources"] ?? {}) as Record<string, Record<string, unknown>>;
  const updated = Object.fromEntries(
    Object.entries(resources).map(([name, resource]) => [name, resource["type"] === "oci-image" ? { ...resource, "upstream-source": image } : resource]),
  );
  return { ...metadata, resources: updated };
}

/** A fingerprint of everything a revision build depends on: paths, sizes and times of the inputs. */
async function inputsStamp(app: CharmApp): Promise<string> {
  const repoRoot = workspaceRoot(app.dir);
  const roots = [
    join(app.dir, "src"),
    join(app.dir, "charmcraft.yaml"),
    join(app.dir, "refresh_versions.toml"),
    join(app.dir, "revisions.yaml"),
    join(app.dir, "package.json"),
    ...["core", "juju", "kubernetes", "machines"].map((name) => join(repoRoot, "packages", name, "src")),
    join(repoRoot, "tooling", "charm-build", "src"),
  ];
  const hash = createHash("sha256");
  for (const root of roots) for (const file of listInputs(root)) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${file}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest("hex");
}

/** The pnpm workspace the app belongs to (apps may sit deeper than `apps/<name>`, e.g. test fixtures). */
function workspaceRoot(appDir: string): string {
  for (let dir = appDir; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname(dir) === dir) return resolve(appDir, "../..");
  }
}

function listInputs(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  const found: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) found.push(...listInputs(child));
    else if (!/\.(test|bench)\.ts$/.test(entry.name)) found.push(child);
  }
  return found;
}

async function readJsonOrYaml(path: string, kind: "json" | "yaml"): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new RefreshSimError("NOT_A_CHARM_APP", `cannot read ${path}: is ${dirname(path)} a charm app?`, 2, { cause });
  }
  try {
    return kind === "json" ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (cause) {
    throw new RefreshSimError("INVALID_FILE", `${path} is not valid ${kind.toUpperCase()}: ${(cause as Error).message}`, 2, { cause });
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`).join("; ");
}
