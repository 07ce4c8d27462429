import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { writeBundledCharmDirs, type CharmBundler } from "./charm-dirs.js";

describe("writeBundledCharmDirs", () => {
  let root: string;
  let bundles: string[];
  const bundler: CharmBundler = {
    CHARM_BUNDLE_PATH: "out/charm.cjs",
    START_SCRIPT_PATH: "out/start.cjs",
    async writeCharmCode(entry, charmDir) {
      bundles.push(entry);
      await mkdir(join(charmDir, "out"), { recursive: true });
      await writeFile(join(charmDir, "out", "charm.cjs"), `// bundled from ${entry}\n`);
      await writeFile(join(charmDir, "out", "start.cjs"), "// starts charm.cjs\n");
    },
    dispatchFor: (metadataYaml) => `#!/bin/sh\n# for ${metadataYaml.split("\n")[0] ?? ""}\nexec node out/start.cjs\n`,
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "charm-dirs-test-"));
    bundles = [];
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("bundles once and lays out every revision as a packed charm, with its own files", async () => {
    const dirs = await writeBundledCharmDirs({
      bundler,
      entry: "/src/charm.ts",
      root,
      revisions: [10, 11],
      files: (revision) => ({ "metadata.yaml": `name: r${revision}\n`, "refresh_versions.toml": `charm = "1.${revision}"\n`, "templates/config.txt": `r${revision}` }),
    });

    expect(bundles).toEqual(["/src/charm.ts"]);
    expect((await readdir(root)).sort(), "nothing but the revisions is left in root").toEqual(["r10", "r11"]);
    expect([...dirs.keys()]).toEqual([10, 11]);
    for (const [revision, dir] of dirs) {
      expect(await readFile(join(dir, "out", "charm.cjs"), "utf8"), "every revision has the code the bundler wrote").toBe("// bundled from /src/charm.ts\n");
      expect(await readFile(join(dir, "out", "start.cjs"), "utf8")).toBe("// starts charm.cjs\n");
      expect(await readFile(join(dir, "dispatch"), "utf8"), "dispatch is written for that revision's metadata").toBe(bundler.dispatchFor(`name: r${revision}\n`));
      expect((await stat(join(dir, "dispatch"))).mode & 0o111, "dispatch must be executable").toBe(0o111);
      expect(await readFile(join(dir, "refresh_versions.toml"), "utf8")).toBe(`charm = "1.${revision}"\n`);
      expect(await readFile(join(dir, "templates", "config.txt"), "utf8")).toBe(`r${revision}`);
    }
  });

  test("writes only code and dispatch when no files are given", async () => {
    const dirs = await writeBundledCharmDirs({ bundler, entry: "/src/charm.ts", root, revisions: [3] });
    const dir = dirs.get(3);
    expect(dir).toBe(join(root, "r3"));
    await expect(stat(join(dir ?? "", "metadata.yaml"))).rejects.toThrow();
    expect((await stat(join(dir ?? "", "dispatch"))).isFile()).toBe(true);
  });
});
