import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readWorkloadPin, WORKLOAD_PIN_CACHE_FILE } from "./charm-files.js";

const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

function metadata(source: string, container = "database"): string {
  return [
    "name: db",
    "containers:",
    `  ${container}:`,
    "    resource: db-image",
    "resources:",
    "  db-image:",
    "    type: oci-image",
    `    upstream-source: ${source}`,
    "",
  ].join("\n");
}

let charmDir: string;

beforeEach(async () => {
  charmDir = await mkdtemp(join(tmpdir(), "charm-files-"));
});

afterEach(async () => {
  await chmod(charmDir, 0o755).catch(() => undefined);
  await rm(charmDir, { recursive: true, force: true });
});

describe("readWorkloadPin", () => {
  it("reads the pinned image and its container", async () => {
    await writeFile(join(charmDir, "metadata.yaml"), metadata(`registry.example/db@${DIGEST_A}`));
    await expect(readWorkloadPin(charmDir, "db-image")).resolves.toEqual({ imageName: "registry.example/db", digest: DIGEST_A, containerName: "database" });
  });

  it("remembers the pin with the exact metadata.yaml it came from", async () => {
    const text = metadata(`registry.example/db@${DIGEST_A}`);
    await writeFile(join(charmDir, "metadata.yaml"), text);
    const pin = await readWorkloadPin(charmDir, "db-image");
    const cached: unknown = JSON.parse(await readFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), "utf8"));
    expect(cached).toEqual({ metadata: text, ociResourceName: "db-image", pin });
  });

  it("answers from the cache while metadata.yaml is unchanged", async () => {
    const text = metadata(`registry.example/db@${DIGEST_A}`);
    await writeFile(join(charmDir, "metadata.yaml"), text);
    await readWorkloadPin(charmDir, "db-image");
    // A cache entry for this exact text is trusted without parsing: prove it by planting one
    // whose pin the YAML could never produce.
    const planted = { imageName: "planted/image", digest: DIGEST_B, containerName: "planted" };
    await writeFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), JSON.stringify({ metadata: text, ociResourceName: "db-image", pin: planted }));
    await expect(readWorkloadPin(charmDir, "db-image")).resolves.toEqual(planted);
  });

  it("reads metadata.yaml afresh once it changes (a refresh of the charm code)", async () => {
    await writeFile(join(charmDir, "metadata.yaml"), metadata(`registry.example/db@${DIGEST_A}`));
    await readWorkloadPin(charmDir, "db-image");
    await writeFile(join(charmDir, "metadata.yaml"), metadata(`registry.example/db@${DIGEST_B}`, "workload"));
    await expect(readWorkloadPin(charmDir, "db-image")).resolves.toEqual({ imageName: "registry.example/db", digest: DIGEST_B, containerName: "workload" });
  });

  it("does not reuse a pin found for another resource name", async () => {
    await writeFile(join(charmDir, "metadata.yaml"), metadata(`registry.example/db@${DIGEST_A}`));
    await readWorkloadPin(charmDir, "db-image");
    await expect(readWorkloadPin(charmDir, "other-image")).rejects.toThrow(/no resources\.other-image\.upstream-source/);
  });

  it("ignores a damaged cache and replaces it", async () => {
    await writeFile(join(charmDir, "metadata.yaml"), metadata(`registry.example/db@${DIGEST_A}`));
    await mkdir(join(charmDir, ".refresh_cache"), { recursive: true });
    for (const damaged of ["{not json", JSON.stringify({ metadata: 3 }), ""]) {
      await writeFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), damaged);
      await expect(readWorkloadPin(charmDir, "db-image")).resolves.toMatchObject({ digest: DIGEST_A });
      expect(JSON.parse(await readFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), "utf8"))).toMatchObject({ pin: { digest: DIGEST_A } });
    }
  });

  it("never caches a problem: an unpinned image fails on every read", async () => {
    await writeFile(join(charmDir, "metadata.yaml"), metadata("registry.example/db:latest"));
    await expect(readWorkloadPin(charmDir, "db-image")).rejects.toThrow(/not pinned by digest/);
    await expect(readWorkloadPin(charmDir, "db-image")).rejects.toThrow(/not pinned by digest/);
    await expect(readFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), "utf8")).rejects.toThrow();
  });

  it("still answers when the cache cannot be written", async () => {
    await writeFile(join(charmDir, "metadata.yaml"), metadata(`registry.example/db@${DIGEST_A}`));
    await writeFile(join(charmDir, ".refresh_cache"), "a file where the cache directory would go");
    await expect(readWorkloadPin(charmDir, "db-image")).resolves.toMatchObject({ digest: DIGEST_A });
    await expect(readWorkloadPin(charmDir, "db-image")).resolves.toMatchObject({ digest: DIGEST_A });
  });

  it("with cache: false, neither reads nor writes the cache", async () => {
    const text = metadata(`registry.example/db@${DIGEST_A}`);
    await writeFile(join(charmDir, "metadata.yaml"), text);
    await mkdir(join(charmDir, ".refresh_cache"), { recursive: true });
    const planted = { imageName: "planted/image", digest: DIGEST_B, containerName: "planted" };
    await writeFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), JSON.stringify({ metadata: text, ociResourceName: "db-image", pin: planted }));
    await expect(readWorkloadPin(charmDir, "db-image", { cache: false })).resolves.toMatchObject({ digest: DIGEST_A });
    expect(JSON.parse(await readFile(join(charmDir, WORKLOAD_PIN_CACHE_FILE), "utf8"))).toMatchObject({ pin: planted });
  });
});
