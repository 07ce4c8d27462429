import { RefreshError } from "../errors.js";

/**
 * A version string that is not a PEP 440 version (for example `abc`, an empty string or
 * `8/stable`). `text` is the rejected input, exactly as given.
 */
export class InvalidVersion extends RefreshError {
  /** The rejected input, exactly as given. */
  readonly text: string;

  constructor(text: string, context = "version") {
    super(
      "INVALID_VERSION",
      `${context} ${JSON.stringify(text)} is not a PEP 440 version; write it as release numbers separated by ` +
        `dots (e.g. "1.2.3"), optionally followed by a pre-release ("rc1"), post-release (".post1"), ` +
        `development release (".dev0") or local label ("+abc")`,
      { resolution: "fix the version text" },
    );
    this.text = text;
  }
}

/** Normalised PEP 440 pre-release label: alpha, beta, release candidate. */
export type PreReleaseLabel = "a" | "b" | "rc";

/** A pre-release segment after normalisation, e.g. `rc1` is `{ label: "rc", number: 1n }`. */
export interface PreRelease {
  readonly label: PreReleaseLabel;
  readonly number: bigint;
}

/** The parts a {@link Pep440Version} is made of; numbers are bigints because PEP 440 sets no limit. */
export interface Pep440Parts {
  /** Epoch (`2!1.0` has epoch 2); 0 when absent. */
  readonly epoch?: bigint;
  /** Release numbers, at least one, as written (trailing zeros kept). */
  readonly release: readonly bigint[];
  readonly pre?: PreRelease | undefined;
  readonly post?: bigint | undefined;
  readonly dev?: bigint | undefined;
  /** Local label segments, normalised: lower case, numeric segments without leading zeros. */
  readonly local?: readonly string[] | undefined;
}

// Written from the grammar in PEP 440 (appendix B): every spelling the standard accepts.
// Alternatives that share a prefix list the longer one first (`preview` before `pre`).
const VERSION_PATTERN = new RegExp(
  [
    "^\\s*v?",
    "(?:(?<epoch>[0-9]+)!)?",
    "(?<release>[0-9]+(?:\\.[0-9]+)*)",
    "(?:[-_.]?(?<preLabel>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preNumber>[0-9]+)?)?",
    "(?:-(?<implicitPost>[0-9]+)|[-_.]?(?<postLabel>post|rev|r)[-_.]?(?<postNumber>[0-9]+)?)?",
    "(?:[-_.]?(?<devLabel>dev)[-_.]?(?<devNumber>[0-9]+)?)?",
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
    "\\s*$",
  ].join(""),
  "i",
);

const PRE_LABELS: Readonly<Record<string, PreReleaseLabel>> = {
  a: "a",
  alpha: "a",
  b: "b",
  beta: "b",
  c: "rc",
  rc: "rc",
  pre: "rc",
  preview: "rc",
};

const PRE_LABEL_RANK: Readonly<Record<PreReleaseLabel, number>> = { a: 0, b: 1, rc: 2 };

const NUMERIC = /^[0-9]+$/;

function normaliseLocalSegment(segment: string): string {
  return NUMERIC.test(segment) ? BigInt(segment).toString() : segment.toLowerCase();
}

function sign(value: number | bigint): -1 | 0 | 1 {
  return value > 0 ? 1 : value < 0 ? -1 : 0;
}

function compareBig(a: bigint, b: bigint): -1 | 0 | 1 {
  return a > b ? 1 : a < b ? -1 : 0;
}

/**
 * A version parsed by the rules of PEP 440 (the Python packaging standard, which Poetry
 * constraints and charm versions are written in).
 *
 * Accepts every spelling the standard does (a `v` prefix, `alpha`/`beta`/`c`/`pre`/`preview`,
 * `-1` as a post-release, `_`/`-`/`.` separators, upper case, surrounding whitespace) and
 * orders versions as the standard does: `1.0.dev0 < 1.0a1 < 1.0 < 1.0+local < 1.0.post1`,
 * trailing zeros do not matter (`1 == 1.0.0`) and numbers compare numerically (`1.10 > 1.9`).
 */
export class Pep440Version {
  /** The text this version was parsed from, exactly as given (or the normal form if built from parts). */
  readonly text: string;
  /** Epoch; 0 when absent. */
  readonly epoch: bigint;
  /** Release numbers as written, e.g. `[1n, 19n, 0n]` for `1.19.0`. */
  readonly release: readonly bigint[];
  /** Pre-release segment, if any. */
  readonly pre: PreRelease | undefined;
  /** Post-release number, if any (`1.0.post` and `1.0-1` have 0 and 1). */
  readonly post: bigint | undefined;
  /** Development release number, if any. */
  readonly dev: bigint | undefined;
  /** Local label segments, if any, normalised (`+Ubuntu-1` is `["ubuntu", "1"]`). */
  readonly local: readonly string[] | undefined;

  private constructor(text: string, parts: Pep440Parts) {
    this.text = text;
    this.epoch = parts.epoch ?? 0n;
    this.release = Object.freeze([...parts.release]);
    this.pre = parts.pre === undefined ? undefined : Object.freeze({ ...parts.pre });
    this.post = parts.post;
    this.dev = parts.dev;
    this.local = parts.local === undefined ? undefined : Object.freeze(parts.local.map(normaliseLocalSegment));
    Object.freeze(this);
  }

  /**
   * Parses a PEP 440 version.
   * @throws {InvalidVersion} when `text` is not a PEP 440 version.
   */
  static parse(text: string): Pep440Version {
    const parsed = Pep440Version.tryParse(text);
    if (parsed === undefined) throw new InvalidVersion(text);
    return parsed;
  }

  /** Parses a PEP 440 version, or returns `undefined` when `text` is not one. */
  static tryParse(text: string): Pep440Version | undefined {
    const groups = VERSION_PATTERN.exec(text)?.groups;
    if (groups === undefined) return undefined;
    const { epoch, release, preLabel, preNumber, implicitPost, postLabel, postNumber, devLabel, devNumber, local } =
      groups;
    if (release === undefined) return undefined;
    const preKey = preLabel?.toLowerCase();
    const parts: Pep440Parts = {
      epoch: epoch === undefined ? 0n : BigInt(epoch),
      release: release.split(".").map((n) => BigInt(n)),
      pre:
        preKey === undefined
          ? undefined
          : { label: PRE_LABELS[preKey] ?? "rc", number: preNumber === undefined ? 0n : BigInt(preNumber) },
      post:
        implicitPost !== undefined
          ? BigInt(implicitPost)
          : postLabel !== undefined
            ? BigInt(postNumber ?? "0")
            : undefined,
      dev: devLabel === undefined ? undefined : BigInt(devNumber ?? "0"),
      local: local === undefined ? undefined : local.split(/[-_.]/),
    };
    return new Pep440Version(text, parts);
  }

  /** Builds a version from its parts; its `text` is the normal form. */
  static fromParts(parts: Pep440Parts): Pep440Version {
    if (parts.release.length === 0) throw new TypeError("a PEP 440 version needs at least one release number");
    const numbers = [parts.epoch ?? 0n, ...parts.release, parts.pre?.number, parts.post, parts.dev];
    if (numbers.some((n) => n !== undefined && n < 0n)) {
      throw new TypeError("PEP 440 version numbers cannot be negative");
    }
    if (parts.local !== undefined) {
      if (parts.local.length === 0 || parts.local.some((s) => !/^[a-z0-9]+$/i.test(s))) {
        throw new TypeError("local version segments must be non-empty and alphanumeric");
      }
    }
    const draft = new Pep440Version("", parts);
    return new Pep440Version(draft.toString(), parts);
  }

  /** True when there is a pre-release or development-release segment (PEP 440's "pre-release"). */
  get isPreRelease(): boolean {
    return this.pre !== undefined || this.dev !== undefined;
  }

  /** True when there is a post-release segment. */
  get isPostRelease(): boolean {
    return this.post !== undefined;
  }

  /** True when there is a development-release segment. */
  get isDevRelease(): boolean {
    return this.dev !== undefined;
  }

  /** True when there is a local label (`+...`). */
  get isLocal(): boolean {
    return this.local !== undefined;
  }

  /** The public version (everything but the local label), normalised. */
  get publicVersion(): string {
    return this.toString().split("+")[0] ?? "";
  }

  /** Epoch (when not 0) and release numbers only, normalised: `1.19.0.post1+abc` gives `1.19.0`. */
  get baseVersion(): string {
    const release = this.release.join(".");
    return this.epoch === 0n ? release : `${this.epoch}!${release}`;
  }

  /** The same version without its local label. */
  withoutLocal(): Pep440Version {
    return this.local === undefined ? this : Pep440Version.fromParts({ ...this.parts(), local: undefined });
  }

  /**
   * The same version without its post-release segment (and the development release attached
   * to it, since `1.0.post1.dev0` is a development build of `1.0.post1`); the local label stays.
   */
  withoutPostRelease(): Pep440Version {
    return this.post === undefined ? this : Pep440Version.fromParts({ ...this.parts(), post: undefined, dev: undefined });
  }

  /** The parts of this version, suitable for {@link Pep440Version.fromParts}. */
  parts(): Pep440Parts {
    return { epoch: this.epoch, release: this.release, pre: this.pre, post: this.post, dev: this.dev, local: this.local };
  }

  /**
   * Orders two versions by PEP 440: negative when this one is older, 0 when they are equal
   * (`1.0` and `1.0.0` are equal), positive when this one is newer.
   */
  compare(other: Pep440Version): -1 | 0 | 1 {
    return comparePep440(this, other);
  }

  /** PEP 440 equality (`1.0 == 1.0.0 == v1.0`); local labels count (`1.0+a != 1.0`). */
  equals(other: Pep440Version): boolean {
    return comparePep440(this, other) === 0;
  }

  /**
   * The normal form PEP 440 defines: lower case, no `v`, no leading zeros, canonical
   * separators (`1.0a1`, `1.0.post1`, `1.0.dev0`, `1.0+ubuntu.1`). Trailing zeros are kept.
   */
  toString(): string {
    let out = this.baseVersion;
    if (this.pre !== undefined) out += `${this.pre.label}${this.pre.number}`;
    if (this.post !== undefined) out += `.post${this.post}`;
    if (this.dev !== undefined) out += `.dev${this.dev}`;
    if (this.local !== undefined) out += `+${this.local.join(".")}`;
    return out;
  }

  /** Serialises as the normal form. */
  toJSON(): string {
    return this.toString();
  }
}

/**
 * Parses `text` and returns its PEP 440 normal form (`V1.0-ALPHA.2` gives `1.0a2`).
 * @throws {InvalidVersion} when `text` is not a PEP 440 version.
 */
export function normalizePep440(text: string): string {
  return Pep440Version.parse(text).toString();
}

function comparePre(a: Pep440Version, b: Pep440Version): -1 | 0 | 1 {
  // A bare development release sorts before every pre-release of the same release
  // (1.0.dev0 < 1.0a0), a final release after all of them: rank the three cases.
  const rank = (v: Pep440Version): number =>
    v.pre !== undefined ? 1 : v.post === undefined && v.dev !== undefined ? 0 : 2;
  const byRank = sign(rank(a) - rank(b));
  if (byRank !== 0 || a.pre === undefined || b.pre === undefined) return byRank;
  return sign(PRE_LABEL_RANK[a.pre.label] - PRE_LABEL_RANK[b.pre.label]) || compareBig(a.pre.number, b.pre.number);
}

function compareOptional(a: bigint | undefined, b: bigint | undefined, absent: "lowest" | "highest"): -1 | 0 | 1 {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return absent === "lowest" ? -1 : 1;
  if (b === undefined) return absent === "lowest" ? 1 : -1;
  return compareBig(a, b);
}

function compareLocal(a: readonly string[] | undefined, b: readonly string[] | undefined): -1 | 0 | 1 {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    const xNumeric = NUMERIC.test(x);
    const yNumeric = NUMERIC.test(y);
    // PEP 440: numeric segments sort above alphanumeric ones; numbers compare as numbers.
    const order =
      xNumeric && yNumeric
        ? compareBig(BigInt(x), BigInt(y))
        : xNumeric !== yNumeric
          ? xNumeric
            ? 1
            : -1
          : x < y
            ? -1
            : x > y
              ? 1
              : 0;
    if (order !== 0) return order;
  }
  return sign(a.length - b.length);
}

function compareRelease(a: readonly bigint[], b: readonly bigint[]): -1 | 0 | 1 {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const order = compareBig(a[i] ?? 0n, b[i] ?? 0n);
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * Orders two PEP 440 versions (strings are parsed first): negative when `a` is older, 0 when
 * equal, positive when `a` is newer. Usable directly as an `Array.prototype.sort` comparator.
 * @throws {InvalidVersion} when a string is not a PEP 440 version.
 */
export function comparePep440(a: Pep440Version | string, b: Pep440Version | string): -1 | 0 | 1 {
  const x = typeof a === "string" ? Pep440Version.parse(a) : a;
  const y = typeof b === "string" ? Pep440Version.parse(b) : b;
  return (
    compareBig(x.epoch, y.epoch) ||
    compareRelease(x.release, y.release) ||
    comparePre(x, y) ||
    compareOptional(x.post, y.post, "lowest") ||
    compareOptional(x.dev, y.dev, "highest") ||
    compareLocal(x.local, y.local)
  );
}
