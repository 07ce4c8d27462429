import { RefreshError } from "../errors.js";
import { InvalidVersion, Pep440Version } from "./pep440.js";

/**
 * A version constraint that does not follow the Poetry constraint grammar. `text` is the
 * whole constraint as given; `part` is the piece that could not be read, when there is one.
 */
export class InvalidConstraint extends RefreshError {
  /** The whole constraint, exactly as given. */
  readonly text: string;
  /** The piece of the constraint that could not be read. */
  readonly part: string | undefined;

  constructor(text: string, part: string | undefined, hint: string, options: { cause?: unknown } = {}) {
    const where = part === undefined || part === text ? "" : ` (at ${JSON.stringify(part)})`;
    super(
      "INVALID_CONSTRAINT",
      `version constraint ${JSON.stringify(text)} is not valid${where}: ${hint}`,
      { ...options, resolution: 'write it in the Poetry constraint grammar, e.g. "^1.2", ">=1.2,<2" or "~1.2 || ^2"' },
    );
    this.text = text;
    this.part = part;
  }
}

/**
 * A parsed Poetry version constraint: parse once with {@link parseConstraint}, then ask
 * whether versions fall inside it.
 */
export interface VersionConstraint {
  /** The constraint text it was parsed from. */
  readonly text: string;
  /**
   * True when `version` lies inside the constraint. Pre-releases inside the range are
   * accepted (`^1` accepts `1.5.0rc1`), unlike pip's or npm's defaults.
   * @throws {InvalidVersion} when `version` is a string that is not a PEP 440 version.
   */
  allows(version: Pep440Version | string): boolean;
  /** The constraint text. */
  toString(): string;
}

interface Bound {
  readonly version: Pep440Version;
  readonly inclusive: boolean;
}

type Atom =
  | { readonly kind: "any" }
  | { readonly kind: "range"; readonly min: Bound | undefined; readonly max: Bound | undefined }
  | { readonly kind: "exact"; readonly version: Pep440Version }
  | { readonly kind: "not-equal"; readonly version: Pep440Version }
  | { readonly kind: "prefix"; readonly prefix: readonly bigint[]; readonly negated: boolean };

function satisfiesMin(min: Bound, candidate: Pep440Version): boolean {
  let other = candidate;
  // PEP 440 exclusive ordered comparison: `>V` must not match a post-release of V (unless V
  // is one) nor a local variant of V, although both sort above V.
  if (!min.inclusive && !min.version.isPostRelease && other.isPostRelease) other = other.withoutPostRelease();
  if (!min.version.isLocal && other.isLocal) other = other.withoutLocal();
  const order = other.compare(min.version);
  return min.inclusive ? order >= 0 : order > 0;
}

function satisfiesMax(max: Bound, candidate: Pep440Version): boolean {
  let limit = max.version;
  // PEP 440: `<V` with V a final release excludes V's own pre- and development releases
  // (`<2` rejects `2.0.0a1`), which sort below V. V.dev0 is the lowest of them.
  if (!max.inclusive && !limit.isPreRelease && !limit.isLocal) {
    limit = Pep440Version.fromParts({ ...limit.parts(), dev: 0n });
  }
  // Weak equality: `<=3.0.0` accepts `3.0.0+local.1`.
  const other = !limit.isLocal && candidate.isLocal ? candidate.withoutLocal() : candidate;
  const order = other.compare(limit);
  return max.inclusive ? order <= 0 : order < 0;
}

function matchesExactly(expected: Pep440Version, candidate: Pep440Version): boolean {
  // A constraint without a local label accepts local variants (`1.2.3` accepts `1.2.3+abc`),
  // but `1.2.3+abc` accepts neither `1.2.3` nor `1.2.3+def`.
  const other = !expected.isLocal && candidate.isLocal ? candidate.withoutLocal() : candidate;
  return other.equals(expected);
}

function matchesPrefix(prefix: readonly bigint[], candidate: Pep440Version): boolean {
  return candidate.epoch === 0n && prefix.every((n, i) => (candidate.release[i] ?? 0n) === n);
}

function atomAllows(atom: Atom, version: Pep440Version): boolean {
  switch (atom.kind) {
    case "any":
      return true;
    case "range":
      return (
        (atom.min === undefined || satisfiesMin(atom.min, version)) &&
        (atom.max === undefined || satisfiesMax(atom.max, version))
      );
    case "exact":
      return matchesExactly(atom.version, version);
    case "not-equal":
      return !matchesExactly(atom.version, version);
    case "prefix":
      return matchesPrefix(atom.prefix, version) !== atom.negated;
  }
}

/** `release` with component `index` raised by one and everything after it set to zero. */
function bump(release: readonly bigint[], index: number, keepLength: number): Pep440Version {
  const next = Array.from({ length: keepLength }, (_, i) =>
    i < index ? (release[i] ?? 0n) : i === index ? (release[i] ?? 0n) + 1n : 0n,
  );
  return Pep440Version.fromParts({ release: next });
}

function caretUpper(version: Pep440Version): Pep440Version {
  const { release } = version;
  const firstNonZero = release.findIndex((n) => n !== 0n);
  return bump(release, firstNonZero === -1 ? release.length - 1 : firstNonZero, release.length);
}

function tildeUpper(version: Pep440Version): Pep440Version {
  const { release } = version;
  return release.length === 1 ? bump(release, 0, 1) : bump(release, 1, release.length);
}

function compatibleReleaseUpper(version: Pep440Version): Pep440Version {
  const { release } = version;
  return release.length === 1 ? bump(release, 0, 1) : bump(release, release.length - 2, release.length - 1);
}

const ANY_WILDCARD = /^v?[x*](?:\.[x*])*$/i;
const OPERATOR_ONLY = /^(?:\^|~=|~|>=|<=|==|!=|=|>|<)$/;
const LEADING_OPERATOR = /^(\^|~=|~|>=|<=|==|!=|<>|=|>|<)?\s*(.*)$/s;
const WILDCARD_SUFFIX = /^v?([0-9]+(?:\.[0-9]+)*)((?:\.[x*])+)$/i;

function parseAtom(text: string, part: string): Atom {
  if (ANY_WILDCARD.test(part)) return { kind: "any" };
  const [, operator = "", operand = ""] = LEADING_OPERATOR.exec(part) ?? [];
  if (operator === "<>") {
    throw new InvalidConstraint(text, part, 'the operator "<>" is not supported; write "!=" for "not equal"');
  }
  if (operand === "") {
    throw new InvalidConstraint(text, part, `the operator ${JSON.stringify(operator)} has no version after it`);
  }
  if (operand.includes("*") || WILDCARD_SUFFIX.test(operand)) return parseWildcard(text, part, operator, operand);
  const version = Pep440Version.tryParse(operand);
  if (version === undefined) {
    const hint = /^[=<>!~^]/.test(operand)
      ? 'the operator is not one of ^ ~ ~= > >= < <= == != = (write it without spaces inside, e.g. ">=", not "> =")'
      : `${JSON.stringify(operand)} is not a PEP 440 version`;
    throw new InvalidConstraint(text, part, hint, { cause: new InvalidVersion(operand) });
  }
  switch (operator) {
    case "^":
      return { kind: "range", min: { version, inclusive: true }, max: { version: caretUpper(version), inclusive: false } };
    case "~":
      return { kind: "range", min: { version, inclusive: true }, max: { version: tildeUpper(version), inclusive: false } };
    case "~=":
      return {
        kind: "range",
        min: { version, inclusive: true },
        max: { version: compatibleReleaseUpper(version), inclusive: false },
      };
    case ">":
      return { kind: "range", min: { version, inclusive: false }, max: undefined };
    case ">=":
      return { kind: "range", min: { version, inclusive: true }, max: undefined };
    case "<":
      return { kind: "range", min: undefined, max: { version, inclusive: false } };
    case "<=":
      return { kind: "range", min: undefined, max: { version, inclusive: true } };
    case "!=":
      return { kind: "not-equal", version };
    default:
      // "", "=" and "==": a bare version means exactly that version, not a range.
      return { kind: "exact", version };
  }
}

function parseWildcard(text: string, part: string, operator: string, operand: string): Atom {
  const match = WILDCARD_SUFFIX.exec(operand);
  if (match === null) {
    throw new InvalidConstraint(text, part, 'a wildcard must come after release numbers only, as in "1.2.*"');
  }
  const suffix = match[2] ?? "";
  if (/x/i.test(suffix)) {
    const fixed = `${operator}${match[1] ?? ""}${suffix.replace(/x/gi, "*")}`;
    throw new InvalidConstraint(text, part, `"x" is a wildcard only on its own; after release numbers write ${JSON.stringify(fixed)}`);
  }
  if (!["", "=", "==", "!="].includes(operator)) {
    throw new InvalidConstraint(
      text,
      part,
      `a wildcard cannot follow ${JSON.stringify(operator)}; use it alone or with "==" or "!=" (e.g. "1.2.*", "!=1.2.*")`,
    );
  }
  const prefix = (match[1] ?? "").split(".").map((n) => BigInt(n));
  return { kind: "prefix", prefix, negated: operator === "!=" };
}

function splitAndParts(text: string, group: string): string[] {
  const pieces: { piece: string; afterComma: boolean }[] = [];
  const separator = /\s*,\s*|\s+/g;
  let start = 0;
  let afterComma = false;
  for (const match of group.matchAll(separator)) {
    pieces.push({ piece: group.slice(start, match.index), afterComma });
    afterComma = match[0].includes(",");
    start = match.index + match[0].length;
  }
  pieces.push({ piece: group.slice(start), afterComma });

  const parts: string[] = [];
  for (const { piece, afterComma: commaBefore } of pieces) {
    if (piece === "") {
      throw new InvalidConstraint(text, group, "it has an empty part (two commas in a row, or a comma at the start)");
    }
    const previous = parts.at(-1);
    // `>= 1.2` and `^ 1.2`: an operator may be separated from its version by spaces, not by a comma.
    if (previous !== undefined && OPERATOR_ONLY.test(previous) && !commaBefore) {
      parts[parts.length - 1] = `${previous} ${piece}`;
    } else {
      parts.push(piece);
    }
  }
  return parts;
}

/**
 * Parses a version constraint written in Poetry's grammar (the one charms' `upgrade_supported`
 * and dependency declarations use):
 *
 * - `*` (also `x`, `*.*`, `v*`): any version;
 * - `^1.2.3`: `>=1.2.3,<2.0.0` (bump the first non-zero release number: `^0.2.3` is
 *   `<0.3.0`, `^0.0.3` is `<0.0.4`, `^0.0` is `<0.1`, `^0` is `<1`);
 * - `~1.2.3`: `>=1.2.3,<1.3.0` (`~1` is `<2`); `~=1.2.3`: `>=1.2.3,<1.3` (`~=1.2` is `<2`);
 * - `1.2.*`, `==1.2.*`: releases starting with 1.2 (any pre-, post-, dev or local variant);
 *   `!=1.2.*`: all others (`1.x` is an error);
 * - `>`, `>=`, `<`, `<=`, `!=`, `==`, `=`: comparisons; a bare version means exactly it;
 * - parts separated by a comma or spaces must all hold; groups separated by `||` or `|` are
 *   alternatives.
 *
 * PEP 440 rules apply to comparisons: `<2` rejects `2.0a1`, `>1` rejects `1.0.post1` and
 * `1.0+local`, `1.2.3` accepts `1.2.3+local`; pre-releases inside a range are accepted.
 * Contradictions such as `>=2,<1` parse and allow nothing.
 *
 * Where poetry-core's behaviour is accidental, this follows PEP 440 instead, on purpose:
 * `!=V` rejects exactly the versions `==V` accepts (so `!=1.2` accepts `1.2.post1` and
 * `1.2rc1`); `V.*` is a PEP 440 prefix match of any length (`1.*` accepts `1.0rc1`,
 * `1.2.3.*` means 1.2.3.x); a wildcard after `>=`, `<` etc., the `<>` operator and the `dev`
 * keyword are errors rather than silently ignored.
 *
 * @throws {InvalidConstraint} naming the part that could not be read.
 */
export function parseConstraint(text: string): VersionConstraint {
  const groups = text
    .trim()
    .split(/\s*\|\|?\s*/)
    .map((group) => {
      // Trailing commas occur in the wild and are tolerated.
      const cleaned = group.replace(/,+$/, "").trimEnd();
      if (cleaned === "") {
        throw new InvalidConstraint(text, undefined, text.trim() === "" ? "it is empty" : "it has an empty alternative around \"||\"");
      }
      return splitAndParts(text, cleaned).map((part) => parseAtom(text, part));
    });
  return Object.freeze({
    text,
    allows(version: Pep440Version | string): boolean {
      const candidate = typeof version === "string" ? Pep440Version.parse(version) : version;
      return groups.some((group) => group.every((atom) => atomAllows(atom, candidate)));
    },
    toString(): string {
      return text;
    },
  });
}

/**
 * True when `version` (PEP 440) satisfies `constraint` (Poetry grammar, see
 * {@link parseConstraint}). The constraint is read first, so a bad constraint is reported
 * even when the version is bad too.
 * @throws {InvalidConstraint} when the constraint cannot be read.
 * @throws {InvalidVersion} when the version is not a PEP 440 version.
 */
export function verifyRequirements(version: string, constraint: string): boolean {
  return parseConstraint(constraint).allows(version);
}
