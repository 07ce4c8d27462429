import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_STATE_DIR, LocalFile } from "@refresh/core";
import { describe, expect, it } from "vitest";
import { LocalState, readPinnedVersions } from "./localState.js";

function charmDir(): string {
  return mkdtempSync(join(tmpdir(), "machines-local-"));
}

describe("LocalState history file", () => {
  it("writes whole-number timestamps with .0 and a 4-space indent, as the Python library does", () => {
    const dir = charmDir();
    const local = new LocalState(dir);
    local.writeHistory({ last: { charmRevision: "ch:amd64/noble/db-613", timeOfRefresh: 1727768259 }, secondToLast: null });
    const text = readFileSync(join(dir, LOCAL_STATE_DIR, LocalFile.machinesLastTwoRefreshesToUpToDateCharmCodeVersion), "utf8");
    expect(text).toBe(
      [
        "{",
        '    "last_refresh_to_up_to_date_charm_code_version": {',
        '        "charm_revision": "ch:amd64/noble/db-613",',
        '        "time_of_refresh": 1727768259.0',
        "    },",
        '    "second_to_last_refresh_to_up_to_date_charm_code_version": null',
        "}",
      ].join("\n"),
    );
    expect(local.readHistory()).toEqual({ last: { charmRevision: "ch:amd64/noble/db-613", timeOfRefresh: 1727768259 }, secondToLast: null });
  });

  it("reports a damaged history file with the path and how to recover", () => {
    const dir = charmDir();
    const local = new LocalState(dir);
    writeFileSync(join(dir, LOCAL_STATE_DIR, LocalFile.machinesLastTwoRefreshesToUpToDateCharmCodeVersion), "{not json");
    expect(() => local.readHistory()).toThrow(expect.objectContaining({ code: "LOCAL_STATE_INVALID", message: expect.stringContaining("Delete it") as unknown }));
  });
});

describe("readPinnedVersions", () => {
  const toml = 'charm = "16/1.19.0"\nworkload = "16.4"\n\n[snap]\nname = "charmed-db"\n\n[snap.revisions]\nx86_64 = "182"\naarch64 = "183"\n';

  it("picks the revision of the uname -m architecture", async () => {
    const dir = charmDir();
    writeFileSync(join(dir, "refresh_versions.toml"), toml);
    const pinned = await readPinnedVersions(dir, "aarch64");
    expect({ ...pinned, charmVersion: pinned.charmVersion.toString() }).toEqual({ charmVersion: "16/1.19.0", workloadVersion: "16.4", snapName: "charmed-db", snapRevision: "183" });
  });

  it("names the architecture that has no pinned revision", async () => {
    const dir = charmDir();
    writeFileSync(join(dir, "refresh_versions.toml"), toml);
    await expect(readPinnedVersions(dir, "s390x")).rejects.toMatchObject({ code: "SNAP_REVISION_MISSING_FOR_ARCHITECTURE", architecture: "s390x" });
  });
});
