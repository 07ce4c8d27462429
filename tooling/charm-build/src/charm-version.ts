import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parse as parseToml } from "smol-toml";
import { CharmBuildError } from "./errors.ts";

const run = promisify(execFile);

/** Release tags look like `v16/1.19.0`: Charmhub track, then major.minor.patch. */
const TAG_PATTERN = /^v(?<track>[^/\s]+)\/(?<release>(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*))$/;

/** What `git describe` says about the commit being built. */
export interface GitDescription {
  /** The nearest release tag, e.g. `v16/1.19.0`. */
  readonly tag: string;
  /** Commits between the tag and HEAD. */
  readonly distance: number;
  /** Abbreviated commit hash of HEAD. */
  readonly commit: string;
  /** The work tree has uncommitted changes. */
  readonly dirty: boolean;
}

/**
 * The charm version for a build: the tag's version when HEAD is exactly the tag and the
 * tree is clean, else a development version that sorts after the tag and is never
 * "released" (so the default compatibility rule refuses it unless the user forces).
 */
export function charmVersionFromGit(description: GitDescription): string {
  const match = TAG_PATTERN.exec(description.tag);
  if (!match?.groups) {
    throw new CharmBuildError(
      "INVALID_RELEASE_TAG",
      `git tag "${description.tag}" is not a charm release tag; name release tags v<track>/<major>.<minor>.<patch>, e.g. v16/1.19.0`,
    );
  }
  const { track, release } = match.groups;
  if (description.distance === 0 && !description.dirty) return `${track}/${release}`;
  const local = description.dirty ? `${description.commit}.dirty` : description.commit;
  return `${track}/${release}.post${description.distance}.dev0+${local}`;
}

/** Parses `git describe --tags --long --dirty` output such as `v16/1.19.0-3-gabc1234-dirty`. */
export function parseGitDescribe(output: string): GitDescription {
  const match = /^(?<tag>.+)-(?<distance>\d+)-g(?<commit>[0-9a-f]+)(?<dirty>-dirty)?$/.exec(output.trim());
  if (!match?.groups) {
    throw new CharmBuildError("UNEXPECTED_GIT_OUTPUT", `could not read git describe output "${output.trim()}"`);
  }
  return {
    tag: match.groups["tag"] ?? "",
    distance: Number(match.groups["distance"]),
    commit: match.groups["commit"] ?? "",
    dirty: match.groups["dirty"] !== undefined,
  };
}

/** Asks git (argument arrays, no shell) for the nearest release tag of `repoDir`'s HEAD. */
export async function describeRepository(repoDir: string): Promise<GitDescription> {
  try {
    const { stdout } = await run("git", ["describe", "--tags", "--long", "--dirty", "--match", "v*/*"], { cwd: repoDir });
    return parseGitDescribe(stdout);
  } catch (error) {
    if (error instanceof CharmBuildError) throw error;
    throw new CharmBuildError(
      "NO_RELEASE_TAG",
      `no release tag found from ${repoDir}: tag a commit v<track>/<major>.<minor>.<patch> (for example \`git tag v1/1.0.0\`), or pass the charm version explicitly`,
      { cause: error },
    );
  }
}

/**
 * Writes `charm = "<version>"` into a `refresh_versions.toml`, keeping the rest of the file
 * as the author wrote it. The source file holds `charm_major`; the version's major must
 * agree with it, so a tag on the wrong branch cannot produce a mislabelled charm.
 */
export function setCharmVersion(tomlText: string, version: string, source = "refresh_versions.toml"): string {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseToml(tomlText);
  } catch (error) {
    throw new CharmBuildError("INVALID_TOML", `${source} is not valid TOML: ${(error as Error).message}`, { cause: error });
  }
  const major = Number(version.split("/")[1]?.split(".")[0]);
  const declaredMajor = parsed["charm_major"];
  if (declaredMajor !== undefined && declaredMajor !== major) {
    throw new CharmBuildError(
      "CHARM_MAJOR_MISMATCH",
      `${source} declares charm_major = ${String(declaredMajor)} but the charm version is ${version}; tag the release with major ${String(declaredMajor)} or update charm_major`,
    );
  }
  const line = `charm = ${JSON.stringify(version)}`;
  if (/^charm\s*=.*$/m.test(tomlText)) return tomlText.replace(/^charm\s*=.*$/m, line);
  return `${line}\n${tomlText}`;
}
