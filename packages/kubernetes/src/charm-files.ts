import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { englishIssues } from "@refresh/core";
import * as z from "zod/mini";
import { CharmPackagingError } from "./errors.js";

/** The workload image a Kubernetes charm pins, read from its `metadata.yaml`. */
export interface WorkloadPin {
  /** Image name before the `@`, e.g. `ghcr.io/canonical/charmed-postgresql`. */
  readonly imageName: string;
  /** `sha256:…` digest the charm was validated with. */
  readonly digest: string;
  /** Name of the one container that runs the OCI resource. */
  readonly containerName: string;
}

const metadataSchema = z.object({
  resources: z.optional(z.record(z.string(), z.looseObject({ "upstream-source": z.optional(z.unknown()) }))),
  containers: z.optional(z.record(z.string(), z.looseObject({ resource: z.optional(z.unknown()) }))),
});

/**
 * Where {@link readWorkloadPin} keeps the pin it found, relative to the charm directory. It is
 * this library's own file, outside the Python protocol's `.charm_refresh_v3` directory, so a
 * rollback to a charm on the Python library never sees it.
 */
export const WORKLOAD_PIN_CACHE_FILE = ".refresh_cache/workload_pin.json";

const pinCacheSchema = z.object({
  metadata: z.string(),
  ociResourceName: z.string(),
  pin: z.object({ imageName: z.string(), digest: z.string(), containerName: z.string() }),
});

/** Options of {@link readWorkloadPin}. */
export interface ReadWorkloadPinOptions {
  /**
   * Reuse the pin found in an earlier event while `metadata.yaml` is byte for byte the same.
   * Parsing it takes the YAML parser, whose loading costs about a third of a bare Node start
   * on every event, and the file only changes with the charm's code.
   * @default true
   */
  readonly cache?: boolean;
}

/**
 * Reads the pinned workload image and its container from the charm's `metadata.yaml`
 * (charmcraft writes it into the packed charm). The resource's `upstream-source` must be
 * pinned by digest (`name@sha256:…`) and exactly one container must use the resource.
 *
 * The answer is cached in {@link WORKLOAD_PIN_CACHE_FILE} together with the exact text it was
 * read from, so later events skip the YAML parser until `metadata.yaml` changes (a refresh of
 * the charm's code). A missing, damaged or stale cache is simply replaced; failing to write
 * it never fails the event. Problems with `metadata.yaml` are never cached.
 *
 * @throws {CharmPackagingError} naming what is wrong.
 */
export async function readWorkloadPin(charmDir: string, ociResourceName: string, options: ReadWorkloadPinOptions = {}): Promise<WorkloadPin> {
  const text = await readCharmFile(charmDir, "metadata.yaml");
  const useCache = options.cache ?? true;
  const cachePath = join(charmDir, WORKLOAD_PIN_CACHE_FILE);
  if (useCache) {
    const cached = await readPinCache(cachePath);
    if (cached !== undefined && cached.metadata === text && cached.ociResourceName === ociResourceName) return cached.pin;
  }
  const pin = await parseWorkloadPin(text, ociResourceName);
  if (useCache) await writePinCache(cachePath, { metadata: text, ociResourceName, pin });
  return pin;
}

async function readPinCache(path: string): Promise<z.infer<typeof pinCacheSchema> | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch {
    // No cache yet, or a damaged one: parse metadata.yaml and write it afresh.
    return undefined;
  }
  const parsed = z.safeParse(pinCacheSchema, json);
  return parsed.success ? parsed.data : undefined;
}

async function writePinCache(path: string, entry: z.infer<typeof pinCacheSchema>): Promise<void> {
  // Write then rename, so a hook killed half way leaves the old cache or none, never half of one.
  const partial = `${path}.partial`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(partial, JSON.stringify(entry));
    await rename(partial, path);
  } catch {
    // Only a speed-up: a read-only or full disk costs the next event a YAML parse, nothing more.
  }
}

async function parseWorkloadPin(text: string, ociResourceName: string): Promise<WorkloadPin> {
  let document: unknown;
  // The YAML parser is a sixth of a charm bundle and slow to start: load it only here.
  const { parse: parseYaml } = await import("yaml");
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new CharmPackagingError(`metadata.yaml is not valid YAML (${String(cause)})`);
  }
  const parsed = z.safeParse(metadataSchema, document ?? {}, englishIssues);
  if (!parsed.success) {
    throw new CharmPackagingError(`metadata.yaml has an unexpected shape: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  }
  const source = parsed.data.resources?.[ociResourceName]?.["upstream-source"];
  if (typeof source !== "string") {
    throw new CharmPackagingError(
      `metadata.yaml has no resources.${ociResourceName}.upstream-source; declare the workload OCI image there, pinned by digest (<image>@sha256:<digest>), or fix ociResourceName`,
    );
  }
  const parts = source.split("@");
  const [imageName, digest] = parts;
  if (parts.length !== 2 || imageName === undefined || imageName === "" || digest === undefined || !digest.startsWith("sha256:")) {
    throw new CharmPackagingError(
      `resources.${ociResourceName}.upstream-source in metadata.yaml is "${source}", which is not pinned by digest; write it as <image>@sha256:<digest> so refreshes can check the workload image`,
    );
  }
  const containers = Object.entries(parsed.data.containers ?? {})
    .filter(([, container]) => container.resource === ociResourceName)
    .map(([name]) => name);
  if (containers.length !== 1) {
    throw new CharmPackagingError(
      `metadata.yaml must have exactly one container whose resource is ${ociResourceName}, but has ${containers.length}${containers.length > 0 ? ` (${containers.join(", ")})` : ""}`,
    );
  }
  return { imageName, digest, containerName: containers[0] as string };
}

/**
 * Reads `.juju-charm`, where Juju records which charm the unit runs (e.g.
 * `ch:amd64/noble/postgresql-k8s-602`, or a `local:` URL).
 */
export async function readCharmRevision(charmDir: string): Promise<string> {
  const text = (await readCharmFile(charmDir, ".juju-charm")).trim();
  if (text === "") {
    throw new CharmPackagingError(".juju-charm in the charm directory is empty; Juju writes it when it deploys the charm, so the charm directory looks damaged");
  }
  return text;
}

/** The image a unit's workload container runs, from the pod's container status. */
export interface InstalledImage {
  /** `sha256:…` digest, or undefined while the container has not pulled its image. */
  readonly digest: string | undefined;
  /** Image name before the `@`, or undefined when the digest is unknown. */
  readonly imageName: string | undefined;
}

/**
 * Finds the workload container's image in the pod's container statuses. An absent container
 * or an empty `imageID` means "not known yet" (the image is still being pulled); a second
 * container with the same name, or an `imageID` without exactly one `@`, is an error.
 */
export function installedImage(containers: readonly { readonly name: string; readonly imageId: string }[], containerName: string): InstalledImage {
  const matching = containers.filter((container) => container.name === containerName);
  if (matching.length > 1) {
    throw new CharmPackagingError(`the pod reports ${matching.length} containers named ${containerName}; container names must be unique`);
  }
  const imageId = matching[0]?.imageId ?? "";
  if (imageId === "") return { digest: undefined, imageName: undefined };
  const parts = imageId.split("@");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    // Some container runtimes report other formats; treat them as unknown rather than crash every hook.
    return { digest: undefined, imageName: undefined };
  }
  return { imageName: parts[0], digest: parts[1] };
}

async function readCharmFile(charmDir: string, name: string): Promise<string> {
  try {
    return await readFile(join(charmDir, name), "utf8");
  } catch (cause) {
    throw new CharmPackagingError(`cannot read ${name} in the charm directory ${charmDir} (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`);
  }
}
