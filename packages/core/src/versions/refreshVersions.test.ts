import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { machine } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  InvalidRefreshVersions,
  SnapRevisionMissingForArchitecture,
  WorkloadNameTooLong,
  checkWorkloadNameLength,
  loadRefreshVersions,
  parseRefreshVersions,
  pinnedSnapRevision,
} from "./refreshVersions.js";

const machineCharm = `
charm = "16/1.19.0"
charm_major = 1
workload = "16.8"

[snap]
name = "charmed-postgresql"

[snap.revisions]
x86_64 = "123"
aarch64 = "124"
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseRefreshVersions(text, "test.toml");
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRefreshVersions);
    const invalid = error as InvalidRefreshVersions;
    expect(invalid.code).toBe("INVALID_REFRESH_VERSIONS");
    expect(invalid.source).toBe("test.toml");
    expect(invalid.message).toContain("test.toml");
    return invalid.problems;
  }
  throw new Error("the file was accepted");
}

describe("parseRefreshVersions", () => {
  it("reads a Kubernetes charm's file", () => {
    const versions = parseRefreshVersions('charm = "16/1.19.0"\nworkload = "16.8"\n');
    expect(versions.charm.toString()).toBe("16/1.19.0");
    expect(versions.charm.released).toBe(true);
    expect(versions.workload).toBe("16.8");
    expect(versions.snap).toBeUndefined();
    expect(versions.source).toBe("refresh_versions.toml");
  });

  it("parses a text once: the same text from the same file gives the same frozen result", () => {
    const text = 'charm = "16/1.19.0"\nworkload = "16.8"\n';
    const first = parseRefreshVersions(text, "a.toml");
    expect(parseRefreshVersions(text, "a.toml")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // Another file, or another text, is its own parse: errors must keep naming the right file.
    expect(parseRefreshVersions(text, "b.toml")).not.toBe(first);
    expect(parseRefreshVersions(text, "b.toml").source).toBe("b.toml");
    expect(parseRefreshVersions('charm = "16/1.20.0"\nworkload = "16.8"\n', "a.toml").charm.toString()).toBe("16/1.20.0");
  });

  it("does not remember a text it refused", () => {
    expect(() => parseRefreshVersions('charm = "x"\n', "bad.toml")).toThrow();
    expect(() => parseRefreshVersions('charm = "x"\n', "bad.toml")).toThrow(/bad\.toml/);
  });

  it("reads a machine charm's snap pins and ignores charm_major", () => {
    const versions = parseRefreshVersions(machineCharm);
    expect(versions.snap).toEqual({ name: "charmed-postgresql", revisions: { x86_64: "123", aarch64: "124" } });
    expect(versions.charm.major).toBe(1);
  });

  it("says the build step has not run when only charm_major is there", () => {
    const problems = problemsOf('charm_major = 1\nworkload = "16.8"\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^charm: is missing but charm_major is present/);
    expect(problems[0]).toContain("build step");
  });

  it("names a missing charm key and where it comes from", () => {
    expect(problemsOf('workload = "16.8"\n')).toEqual([expect.stringMatching(/^charm: is missing; .*git tag/)]);
  });

  it("reports an invalid charm version with the version's own explanation", () => {
    const [problem] = problemsOf('charm = "1.19.0"\nworkload = "16.8"\n');
    expect(problem).toMatch(/^charm: charm version "1\.19\.0" must contain exactly one "\/"/);
  });

  it("lists every problem at once", () => {
    const problems = problemsOf('charm = 5\nworkload = ""\n[snap]\n[snap.revisions]\namd64 = "1"\nx86_64 = 12\n');
    expect(problems).toEqual([
      expect.stringMatching(/^charm: must be a string/),
      expect.stringMatching(/^workload: is empty/),
      expect.stringMatching(/^snap\.name: is missing/),
      expect.stringMatching(/^snap\.revisions\.amd64: is not an architecture name .*write x86_64 instead of amd64/),
      expect.stringMatching(/^snap\.revisions\.x86_64: must be a string of digits/),
    ]);
  });

  it("refuses a revision that is not a store revision number", () => {
    expect(problemsOf('charm = "1/1.0.0"\nworkload = "1"\n[snap]\nname = "x"\n[snap.revisions]\nx86_64 = "latest"\n')).toEqual([
      expect.stringMatching(/^snap\.revisions\.x86_64: must be a snap revision number/),
    ]);
  });

  it("refuses an empty [snap.revisions]", () => {
    expect(problemsOf('charm = "1/1.0.0"\nworkload = "1"\n[snap]\nname = "x"\n[snap.revisions]\n')).toEqual([
      expect.stringMatching(/^snap\.revisions: is empty/),
    ]);
  });

  it("reports text that is not TOML", () => {
    expect(problemsOf("charm = \n")).toEqual([expect.stringMatching(/not valid TOML/)]);
  });
});

describe("loadRefreshVersions", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "refresh-versions-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads refresh_versions.toml from the charm directory", async () => {
    await writeFile(join(dir, "refresh_versions.toml"), machineCharm);
    const versions = await loadRefreshVersions(dir);
    expect(versions.workload).toBe("16.8");
    expect(versions.source).toBe(join(dir, "refresh_versions.toml"));
  });

  it("says the file is missing, with its path", async () => {
    await expect(loadRefreshVersions(dir)).rejects.toThrow(InvalidRefreshVersions);
    await expect(loadRefreshVersions(dir)).rejects.toThrow(/refresh_versions\.toml is not valid: the file does not exist/);
  });

  it("names the file in content errors", async () => {
    await writeFile(join(dir, "refresh_versions.toml"), 'charm_major = 1\nworkload = "16.8"\n');
    await expect(loadRefreshVersions(dir)).rejects.toThrow(join(dir, "refresh_versions.toml"));
  });
});

describe("pinnedSnapRevision", () => {
  const versions = parseRefreshVersions(machineCharm, "test.toml");

  it("picks the revision for the given uname -m architecture", () => {
    expect(pinnedSnapRevision(versions, "x86_64")).toBe("123");
    expect(pinnedSnapRevision(versions, "aarch64")).toBe("124");
  });

  it("defaults to this machine's os.machine() name", () => {
    const here = machine();
    if (here === "x86_64" || here === "aarch64") {
      expect(pinnedSnapRevision(versions)).toBe(here === "x86_64" ? "123" : "124");
    } else {
      expect(() => pinnedSnapRevision(versions)).toThrow(here);
    }
  });

  it("names the missing architecture and the pinned ones", () => {
    let error: unknown;
    try {
      pinnedSnapRevision(versions, "s390x");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SnapRevisionMissingForArchitecture);
    const missing = error as SnapRevisionMissingForArchitecture;
    expect(missing.code).toBe("SNAP_REVISION_MISSING_FOR_ARCHITECTURE");
    expect(missing.architecture).toBe("s390x");
    expect(missing.available).toEqual(["x86_64", "aarch64"]);
    expect(missing.message).toContain('"s390x"');
  });

  it("does not accept Node's os.arch() names", () => {
    expect(() => pinnedSnapRevision(versions, "x64")).toThrow(SnapRevisionMissingForArchitecture);
  });

  it("explains that a machine charm needs a [snap] table", () => {
    const kubernetes = parseRefreshVersions('charm = "1/1.0.0"\nworkload = "1"\n', "k8s.toml");
    expect(() => pinnedSnapRevision(kubernetes, "x86_64")).toThrow(/snap: is missing/);
  });
});

describe("checkWorkloadNameLength", () => {
  it("accepts exactly 43 characters", () => {
    const name = "N".repeat(38);
    expect(() => checkWorkloadNameLength(name, "16.8")).not.toThrow();
    expect(`${name} 16.8`).toHaveLength(43);
  });

  it("refuses 44 characters and explains the status truncation", () => {
    const name = "N".repeat(39);
    expect(() => checkWorkloadNameLength(name, "16.8")).toThrow(WorkloadNameTooLong);
    try {
      checkWorkloadNameLength(name, "16.8");
    } catch (error) {
      expect((error as WorkloadNameTooLong).code).toBe("WORKLOAD_NAME_TOO_LONG");
      expect((error as WorkloadNameTooLong).length).toBe(44);
      expect((error as WorkloadNameTooLong).message).toContain("120 characters");
    }
  });

  it("counts characters, not UTF-16 code units", () => {
    // Each emoji is two UTF-16 units but one character, as Python counts it.
    expect(() => checkWorkloadNameLength("🐘".repeat(38), "16.8")).not.toThrow();
  });
});
