import { describe, expect, it } from "vitest";
import { OriginalVersionsInvalid } from "../errors.js";
import { appDatabag, decodeAppDatabag } from "./databags.js";
import { AppKey } from "./names.js";
import { charmhubRevision, originalVersionsUpdate, readOriginalVersions, type OriginalVersions } from "./original-versions.js";

const kubernetesOriginals: OriginalVersions = {
  workloadMatchedPin: true,
  workloadVersion: "16.4",
  workloadContainerVersion: "sha256:76ef26c7d11a524bcac206d5cb042ebc3c8c8ead73fa0cd69d21921552db03b6",
  charmVersion: "16/1.19.0",
  charmRevision: "ch:amd64/jammy/postgresql-k8s-602",
};

function stored(versions: OriginalVersions): Record<string, string> {
  return appDatabag.planWrite({}, originalVersionsUpdate(versions)) as Record<string, string>;
}

function read(raw: Record<string, string>): OriginalVersions {
  return readOriginalVersions(decodeAppDatabag(raw, "postgresql-k8s"));
}

function problemsOf(raw: Record<string, string>): readonly string[] {
  try {
    read(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(OriginalVersionsInvalid);
    return (error as OriginalVersionsInvalid).problems;
  }
  throw new Error("expected the original versions to be rejected");
}

describe("original versions", () => {
  it("reads back what the leader saved, with and without a matched pin", () => {
    expect(read(stored(kubernetesOriginals))).toEqual(kubernetesOriginals);
    const unpinned: OriginalVersions = { ...kubernetesOriginals, workloadMatchedPin: false, workloadVersion: null };
    expect(read(stored(unpinned))).toEqual(unpinned);
  });

  it("says automatic recovery is not possible and lists every missing key when a pre-v3 charm left none", () => {
    let caught: unknown;
    try {
      read({});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OriginalVersionsInvalid);
    const error = caught as OriginalVersionsInvalid;
    expect(error.code).toBe("ORIGINAL_VERSIONS_INVALID");
    expect(error.message).toMatch(/automatic recovery is not possible/);
    expect(error.message).toMatch(/juju refresh/);
    expect(error.problems).toHaveLength(5);
    for (const key of Object.values(AppKey).filter((key) => key.startsWith("original_"))) {
      expect(error.message).toContain(key);
    }
  });

  it("rejects a workload version that contradicts the matched-pin flag, either way", () => {
    const matchedWithoutVersion = { ...stored(kubernetesOriginals), [AppKey.originalWorkloadVersion]: "null" };
    expect(problemsOf(matchedWithoutVersion)).toEqual(["the original workload matched its pin but has no workload version"]);
    const unmatchedWithVersion = {
      ...stored(kubernetesOriginals),
      [AppKey.originalInstalledWorkloadContainerMatchedPinnedContainer]: "false",
    };
    expect(problemsOf(unmatchedWithVersion)).toEqual(["the original workload did not match its pin but has a workload version"]);
  });

  it("rejects a charm version that does not parse, and a malformed value", () => {
    const raw = {
      ...stored(kubernetesOriginals),
      [AppKey.originalCharmVersion]: '"1.19.0"',
      [AppKey.originalCharmRevision]: "602",
    };
    const problems = problemsOf(raw);
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toContain(AppKey.originalCharmVersion);
    expect(problems.join("\n")).toContain(AppKey.originalCharmRevision);
    expect(problemsOf({ ...stored(kubernetesOriginals), [AppKey.originalCharmVersion]: '"16/1.19"' })[0]).toMatch(/release components/);
  });
});

describe("charmhubRevision", () => {
  it("takes the number after the last dash of a Charmhub charm URL", () => {
    expect(charmhubRevision("ch:amd64/jammy/postgresql-k8s-602")).toBe("602");
  });

  it("has none for local charms", () => {
    expect(charmhubRevision("local:jammy/postgresql-k8s-3")).toBeUndefined();
  });
});
