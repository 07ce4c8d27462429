import { RefreshError } from "../errors.js";
import { Pep440Version } from "./pep440.js";

/** Why a charm version text was refused. */
export type InvalidCharmVersionReason =
  | "SLASH_COUNT"
  | "EPOCH"
  | "NOT_PEP440"
  | "RELEASE_COMPONENTS"
  | "MAJOR_TOO_LARGE";

const EXPECTED_FORMAT = 'expected "<track>/<major>.<minor>.<patch>", e.g. "16/1.19.0"';

function describeReason(text: string, reason: InvalidCharmVersionReason, detail: string): string {
  const quoted = JSON.stringify(text);
  switch (reason) {
    case "SLASH_COUNT":
      return `charm version ${quoted} must contain exactly one "/" between the Charmhub track and the version (${detail}); ${EXPECTED_FORMAT}`;
    case "EPOCH":
      return `charm version ${quoted} has a PEP 440 epoch ("!"), which charm versions do not support; remove the "<epoch>!" prefix`;
    case "NOT_PEP440":
      return `the part of charm version ${quoted} after "/" is not a PEP 440 version; ${EXPECTED_FORMAT}`;
    case "RELEASE_COMPONENTS":
      return `charm version ${quoted} has ${detail} release components, but exactly 3 are required; ${EXPECTED_FORMAT}`;
    case "MAJOR_TOO_LARGE":
      return `charm version ${quoted} has a major version too large to handle (${detail}); use a major below 2^53`;
  }
}

/**
 * A charm version text that is not `<track>/<major>.<minor>.<patch>` (optionally followed by
 * development-build suffixes). `reason` says which rule it broke.
 */
export class InvalidCharmVersion extends RefreshError {
  /** The rejected text, exactly as given. */
  readonly text: string;
  /** Which rule the text broke. */
  readonly reason: InvalidCharmVersionReason;

  constructor(text: string, reason: InvalidCharmVersionReason, detail = "") {
    super("INVALID_CHARM_VERSION", describeReason(text, reason, detail), {
      resolution: "fix the charm version (it is written into refresh_versions.toml at build time from the git tag)",
    });
    this.text = text;
    this.reason = reason;
  }
}

/**
 * Two charm versions from different Charmhub tracks were compared. Versions on different
 * tracks have no order: a refresh across tracks is a decision for the charm's compatibility
 * rule, not a comparison.
 */
export class CharmVersionTrackMismatch extends RefreshError {
  /** Track of the version `compare` was called on. */
  readonly track: string;
  /** Track of the version it was compared with. */
  readonly otherTrack: string;

  constructor(left: CharmVersion, right: CharmVersion) {
    super(
      "CHARM_VERSION_TRACK_MISMATCH",
      `cannot order charm versions ${JSON.stringify(left.toString())} and ${JSON.stringify(right.toString())}: ` +
        `they belong to different tracks (${JSON.stringify(left.track)} and ${JSON.stringify(right.track)}); ` +
        `check that both tracks are equal before comparing`,
    );
    this.track = left.track;
    this.otherTrack = right.track;
  }
}

/**
 * The version of the charm code, `<Charmhub track>/<PEP 440 version>` with exactly three
 * release numbers: `16/1.19.0` for a released build, `16/1.19.0.post1.dev0+71201f4.dirty`
 * for a development build. Written into `refresh_versions.toml` at build time.
 *
 * Equality is textual (the original strings); ordering is PEP 440 and only defined within a
 * track.
 */
export class CharmVersion {
  /** Charmhub track (the text before `/`; not validated, may be empty). */
  readonly track: string;
  /** The PEP 440 version after `/`. */
  readonly version: Pep440Version;
  /** First release number; raised when a refresh between versions needs care or an intermediate version. */
  readonly major: number;
  /**
   * True for a released build: the text after `/` is exactly three dot-separated numbers
   * without leading zeros and nothing else. Any pre-, post-, development or local segment, a
   * `v` prefix, a leading zero or whitespace makes it a development build.
   */
  readonly released: boolean;
  readonly #text: string;

  /**
   * Parses a charm version.
   * @throws {InvalidCharmVersion} naming the rule the text breaks.
   */
  constructor(text: string) {
    const parts = text.split("/");
    if (parts.length !== 2) {
      throw new InvalidCharmVersion(text, "SLASH_COUNT", `found ${parts.length - 1}`);
    }
    const [track = "", versionText = ""] = parts;
    if (versionText.includes("!")) throw new InvalidCharmVersion(text, "EPOCH");
    const version = Pep440Version.tryParse(versionText);
    if (version === undefined) throw new InvalidCharmVersion(text, "NOT_PEP440");
    if (version.release.length !== 3) {
      throw new InvalidCharmVersion(text, "RELEASE_COMPONENTS", String(version.release.length));
    }
    const major = version.release[0] ?? 0n;
    if (major > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InvalidCharmVersion(text, "MAJOR_TOO_LARGE", major.toString());
    }
    this.#text = text;
    this.track = track;
    this.version = version;
    this.major = Number(major);
    this.released = versionText === version.baseVersion;
    Object.freeze(this);
  }

  /** Parses a charm version; the same as `new CharmVersion(text)`. */
  static parse(text: string): CharmVersion {
    return new CharmVersion(text);
  }

  /** True when both have the same original text (a plain string is compared as text too). */
  equals(other: CharmVersion | string): boolean {
    return this.#text === (typeof other === "string" ? other : other.#text);
  }

  /**
   * Orders two versions of the same track by PEP 440: negative when this one is older, 0
   * when they are PEP 440 equal, positive when this one is newer. Two released versions
   * compare 0 only when their texts are equal, since released texts are in normal form.
   * @throws {CharmVersionTrackMismatch} when the tracks differ.
   */
  compare(other: CharmVersion): -1 | 0 | 1 {
    if (this.track !== other.track) throw new CharmVersionTrackMismatch(this, other);
    return this.version.compare(other.version);
  }

  /** The original text. */
  toString(): string {
    return this.#text;
  }

  /** Serialises as the original text. */
  toJSON(): string {
    return this.#text;
  }
}
