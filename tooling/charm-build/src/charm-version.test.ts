import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { charmVersionFromGit, describeRepository, parseGitDescribe, setCharmVersion } from "./charm-version.ts";

describe("charmVersionFromGit", () => {
  it("uses the tag's version for a clean build of the tagged commit", () => {
    expect(charmVersionFromGit({ tag: "v16/1.19.0", distance: 0, commit: "71201f4", dirty: false })).toBe("16/1.19.0");
  });

  it("marks later commits and dirty trees as development builds", () => {
    expect(charmVersionFromGit({ tag: "v16/1.19.0", distance: 1, commit: "71201f4", dirty: true })).toBe(
      "16/1.19.0.post1.dev0+71201f4.dirty",
    );
    expect(charmVersionFromGit({ tag: "v16/1.19.0", distance: 0, commit: "71201f4", dirty: true })).toBe(
      "16/1.19.0.post0.dev0+71201f4.dirty",
    );
    expect(charmVersionFromGit({ tag: "v3/2.0.1", distance: 4, commit: "abcdef0", dirty: false })).toBe(
      "3/2.0.1.post4.dev0+abcdef0",
    );
  });

  it.each(["16/1.19.0", "v16/1.19", "v16/1.19.0.1", "v16/01.19.0", "v/1.0.0"])("rejects the tag %s", (tag) => {
    expect(() => charmVersionFromGit({ tag, distance: 0, commit: "a", dirty: false })).toThrow(/v<track>\/<major>/);
  });
});

describe("parseGitDescribe", () => {
  it("reads tag, distance, commit and dirtiness", () => {
    expect(parseGitDescribe("v16/1.19.0-3-gabc1234-dirty\n")).toEqual({
      tag: "v16/1.19.0",
      distance: 3,
      commit: "abc1234",
      dirty: true,
    });
  });
});

describe("describeRepository", () => {
  function repo(): string {
    const dir = mkdtempSync(join(tmpdir(), "charm-version-"));
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, stdio: "pipe" });
    git("init", "-q");
    writeFileSync(join(dir, "file"), "one");
    git("add", "file");
    git("commit", "-qm", "one");
    git("tag", "v2/1.4.0");
    return dir;
  }

  it("describes a real repository, before and after further work", async () => {
    const dir = repo();
    expect(charmVersionFromGit(await describeRepository(dir))).toBe("2/1.4.0");
    writeFileSync(join(dir, "file"), "two");
    const dirty = await describeRepository(dir);
    expect(charmVersionFromGit(dirty)).toMatch(/^2\/1\.4\.0\.post0\.dev0\+[0-9a-f]+\.dirty$/);
  });

  it("explains how to tag when there is no release tag", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charm-version-"));
    execFileSync("git", ["init", "-q"], { cwd: dir });
    await expect(describeRepository(dir)).rejects.toThrow(/git tag v1\/1\.0\.0/);
  });
});

describe("setCharmVersion", () => {
  const source = '# versions of this charm\ncharm_major = 1\nworkload = "16.8"\n';

  it("adds the charm key and keeps the author's text", () => {
    const updated = setCharmVersion(source, "16/1.2.3");
    expect(parseToml(updated)).toEqual({ charm: "16/1.2.3", charm_major: 1, workload: "16.8" });
    expect(updated).toContain("# versions of this charm");
  });

  it("replaces an existing charm key", () => {
    const once = setCharmVersion(source, "16/1.2.3");
    expect(parseToml(setCharmVersion(once, "16/1.2.4"))["charm"]).toBe("16/1.2.4");
  });

  it("refuses a version whose major disagrees with charm_major", () => {
    expect(() => setCharmVersion(source, "16/2.0.0")).toThrow(/charm_major = 1/);
  });
});
