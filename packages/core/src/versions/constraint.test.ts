import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidConstraint, parseConstraint, verifyRequirements } from "./constraint.js";
import { InvalidVersion, Pep440Version } from "./pep440.js";

// Written from the grammar in reference/spec-dataupgrade.md §3 (Poetry constraints over PEP 440).
// [constraint, version, expected]: true/false, or the error class the call must throw.
type Expected = boolean | "InvalidConstraint" | "InvalidVersion";
const table: [string, string, Expected][] = [
  // "*" and its spellings: any version
  ["*", "0", true],
  ["*", "1.0.0a1", true],
  ["*", "2!1.0+local", true],
  ["x", "7", true],
  ["X", "7", true],
  ["*.*", "7.1.2", true],
  ["v*", "7", true],
  ["x.x.x", "0.0.1", true],
  [" * ", "3", true],
  // bare version: exactly that version (not a range, unlike npm)
  ["1.2", "1.2", true],
  ["1.2", "1.2.0", true],
  ["1.2", "1.2.1", false],
  ["1.2", "1.3", false],
  ["1.3", "7", false],
  ["v1.2.3", "1.2.3", true],
  ["1.2.3", "1.2.3+abc", true],
  ["1.2.3+abc", "1.2.3", false],
  ["1.2.3+abc", "1.2.3+abc", true],
  ["1.2.3+abc", "1.2.3+def", false],
  ["1.2.3", "1.2.3rc1", false],
  ["1.2.3", "1.2.3.post1", false],
  ["==1.2.3", "1.2.3", true],
  ["==1.2.3", "1.2.4", false],
  ["=1.2.3", "1.2.3", true],
  ["=1.2.3", "1.2.3+local", true],
  ["== 1.2.3", "1.2.3", true],
  ["1.0.0rc1", "1.0.0rc1", true],
  ["1.0.0rc1", "1.0.0", false],
  // != : everything but that version (and its local variants)
  ["!=1.2", "1.2.0", false],
  ["!=1.2", "1.2+abc", false],
  ["!=1.2", "1.2.1", true],
  ["!=1.2", "1.1", true],
  ["!=1.2", "1.2rc1", true],
  // comparators
  [">1.2", "1.3", true],
  [">1.2", "1.2", false],
  [">1.2", "1.2.0.1", true],
  [">=1.2", "1.2", true],
  [">=1.2", "1.1.9", false],
  ["<1.2", "1.1.9", true],
  ["<1.2", "1.2", false],
  ["<=1.2", "1.2", true],
  ["<=1.2", "1.2.0.1", false],
  [">= 1.2", "1.2", true],
  [">=0.8", "3.3.2", true],
  [">5", "7", true],
  [">5", "4", false],
  ["<7", "7", false],
  [">=7", "7", true],
  // special rules of PEP 440 comparisons
  ["<2", "2.0.0a1", false],
  ["<2", "2.0.0.dev0", false],
  ["<2", "2.0.0rc9", false],
  ["<2", "1.9.9rc1", true],
  ["<2", "2.0+local", false],
  ["<2", "1.9+local", true],
  ["<2.0rc2", "2.0rc1", true],
  ["<2.0rc2", "2.0rc2", false],
  [">1", "1.0.0.post1", false],
  [">1", "1.0.1.post1", true],
  [">1", "1.0.0+local", false],
  [">1.0.0", "1.0.0+local", false],
  [">1.0.post1", "1.0.post2", true],
  [">1.0+abc", "1.0+abd", true],
  [">=1.0.0", "1.0.0+local", true],
  [">=1.0.0", "1.0.0.post1", true],
  ["<=3.0.0", "3.0.0+local.1", true],
  ["<=3.0.0", "3.0.0.post1", false],
  [">=1", "2.0.0a1", true],
  [">=1", "1.0.0rc1", false],
  // caret
  ["^1.2.3", "1.2.3", true],
  ["^1.2.3", "1.9.9", true],
  ["^1.2.3", "2.0.0", false],
  ["^1.2.3", "1.2.2", false],
  ["^1.2", "1.99", true],
  ["^1", "1.5.0rc1", true],
  ["^1", "2.0.0rc1", false],
  ["^1", "0.9", false],
  ["^0.2.3", "0.2.9", true],
  ["^0.2.3", "0.3.0", false],
  ["^0.0.3", "0.0.3", true],
  ["^0.0.3", "0.0.4", false],
  ["^0.0", "0.0.9", true],
  ["^0.0", "0.1", false],
  ["^0", "0.99", true],
  ["^0", "1", false],
  ["^0.0.0", "0.0.0", true],
  ["^0.0.0", "0.0.1", false],
  ["^ 1.2", "1.5", true],
  ["^7", "7", true],
  ["^3.3", "3.3.2", true],
  ["^3.5", "3.3.2", false],
  ["^1.2.3.4", "1.9", true],
  ["^1.2.3rc1", "1.2.3rc2", true],
  // tilde
  ["~1.2.3", "1.2.9", true],
  ["~1.2.3", "1.3.0", false],
  ["~1.2", "1.2.5", true],
  ["~1.2", "1.3", false],
  ["~1", "1.9", true],
  ["~1", "2", false],
  ["~0", "0.5", true],
  ["~0", "1", false],
  ["~0.0.3", "0.0.9", true],
  ["~0.0.3", "0.1.0", false],
  ["~0.2", "0.2.1", true],
  ["~1.0", "1.0.5", true],
  // PEP 440 compatible release
  ["~=1.2", "1.9", true],
  ["~=1.2", "2.0", false],
  ["~=1.2", "1.1", false],
  ["~=1.2.3", "1.2.9", true],
  ["~=1.2.3", "1.3.0", false],
  ["~=1", "1.5", true],
  ["~=1", "2", false],
  ["~=1.2.3.4", "1.2.3.9", true],
  ["~=1.2.3.4", "1.2.4", false],
  // wildcards
  ["1.*", "1.0", true],
  ["1.*", "1.99.3", true],
  ["1.*", "1.0.0rc1", true],
  ["1.*", "1.2+local", true],
  ["1.*", "2.0", false],
  ["1.*", "2.0.0.dev0", false],
  ["1.*", "0.9", false],
  ["1.2.*", "1.2.7", true],
  ["1.2.*", "1.3", false],
  ["==1.2.*", "1.2", true],
  ["==1.2.*", "1.20", false],
  ["!=1.2.*", "1.2.5", false],
  ["!=1.2.*", "1.3", true],
  ["0.*", "0.5.1", true],
  ["0.*", "1.0", false],
  ["1.2.3.*", "1.2.3.4", true],
  ["1.2.3.*", "1.2.4", false],
  // AND: comma or whitespace
  [">=1.2,<1.5", "1.3", true],
  [">=1.2,<1.5", "1.5", false],
  [">=1.2, <1.5", "1.2", true],
  [">=1.2 <1.5", "1.1", false],
  [">= 1.2 , < 1.5", "1.4.9", true],
  [">=1.2,<1.5,", "1.3", true],
  [">=2,<1", "1.5", false],
  [">=2,<1", "3", false],
  [">=1,!=1.5", "1.5", false],
  [">=1,!=1.5", "1.6", true],
  ["^1,!=1.2.*", "1.2.1", false],
  ["^1,!=1.2.*", "1.3.1", true],
  // OR: || or |
  ["^1 || ^7", "7", true],
  ["^1 || ^7", "1.5", true],
  ["^1 || ^7", "3", false],
  ["^1||^7", "7.2", true],
  ["^1 | ^7", "7", true],
  ["~1.2 || >=3,<4", "3.5", true],
  ["~1.2 || >=3,<4", "2", false],
  ["1.2 | 1.4", "1.4", true],
  ["1.2 | 1.4", "1.3", false],
  // invalid versions
  [">1.2", "abc", "InvalidVersion"],
  [">1.2", "", "InvalidVersion"],
  [">1.2", "8/stable", "InvalidVersion"],
  ["*", "not a version", "InvalidVersion"],
  // invalid constraints (reported even when the version is bad too)
  ["", "1", "InvalidConstraint"],
  ["   ", "1", "InvalidConstraint"],
  ["saruman", "1", "InvalidConstraint"],
  ["1.x", "1.0", "InvalidConstraint"],
  ["1.2.x", "1.2", "InvalidConstraint"],
  ["> =1", "2", "InvalidConstraint"],
  ["=>1", "2", "InvalidConstraint"],
  [">=", "2", "InvalidConstraint"],
  ["^", "2", "InvalidConstraint"],
  [">=1.2,,<1.5", "1.3", "InvalidConstraint"],
  [",>=1.2", "1.3", "InvalidConstraint"],
  [">=,1.2", "1.3", "InvalidConstraint"],
  ["^1 ||", "1", "InvalidConstraint"],
  ["|| ^1", "1", "InvalidConstraint"],
  ["^1 ||| ^2", "1", "InvalidConstraint"],
  [">=1.*", "1", "InvalidConstraint"],
  ["^1.*", "1", "InvalidConstraint"],
  ["1.*.2", "1", "InvalidConstraint"],
  ["1.0a1.*", "1", "InvalidConstraint"],
  ["==*", "1", "InvalidConstraint"],
  ["<>1.2", "1", "InvalidConstraint"],
  ["1.0 - 2.0", "1.5", "InvalidConstraint"],
  ["~=", "1", "InvalidConstraint"],
  [">1.2", "abc", "InvalidVersion"],
  ["saruman", "abc", "InvalidConstraint"],
];

describe("verifyRequirements: example table", () => {
  it("has at least 80 rows", () => {
    expect(table.length).toBeGreaterThanOrEqual(80);
  });

  it.each(table)("%j allows %j: %j", (constraint, version, expected) => {
    if (expected === "InvalidConstraint" || expected === "InvalidVersion") {
      const errorClass = expected === "InvalidConstraint" ? InvalidConstraint : InvalidVersion;
      expect(() => verifyRequirements(version, constraint)).toThrow(errorClass);
    } else {
      expect(verifyRequirements(version, constraint)).toBe(expected);
    }
  });
});

describe("parseConstraint", () => {
  it("validates once and answers many times", () => {
    const constraint = parseConstraint(">=1.2,<2");
    expect(constraint.text).toBe(">=1.2,<2");
    expect(String(constraint)).toBe(">=1.2,<2");
    expect(["1.1", "1.2", "1.9.9", "2"].map((v) => constraint.allows(v))).toEqual([false, true, true, false]);
    expect(constraint.allows(Pep440Version.parse("1.5"))).toBe(true);
  });

  it("names the whole constraint, the bad part and a fix in its error", () => {
    let error: unknown;
    try {
      parseConstraint(">=1.2, 1.x");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConstraint);
    const invalid = error as InvalidConstraint;
    expect(invalid.code).toBe("INVALID_CONSTRAINT");
    expect(invalid.text).toBe(">=1.2, 1.x");
    expect(invalid.part).toBe("1.x");
    expect(invalid.message).toContain('">=1.2, 1.x"');
    expect(invalid.message).toContain('"1.*"');
  });

  it("explains an unsupported operator", () => {
    expect(() => parseConstraint("<>1")).toThrow(/"!="/);
    expect(() => parseConstraint(">=1.*")).toThrow(/wildcard cannot follow ">="/);
    expect(() => parseConstraint("")).toThrow(/empty/);
  });

  it("reports a bad version given to allows as InvalidVersion naming it", () => {
    expect(() => parseConstraint("^1").allows("8/stable")).toThrow(/"8\/stable"/);
  });
});

describe("constraint properties", () => {
  const release = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 });
  const versionText = fc
    .tuple(release, fc.constantFrom("", "a1", "rc2", ".post1", ".dev0", "+local"))
    .map(([r, tail]) => `${r.join(".")}${tail}`);

  it("a bare version allows itself, and == and = mean the same", () => {
    fc.assert(
      fc.property(versionText, versionText, (a, b) => {
        expect(verifyRequirements(a, a)).toBe(true);
        expect(verifyRequirements(b, `==${a}`)).toBe(verifyRequirements(b, a));
        expect(verifyRequirements(b, `=${a}`)).toBe(verifyRequirements(b, a));
      }),
    );
  });

  it("!= is the complement of ==", () => {
    fc.assert(
      fc.property(versionText, versionText, (a, b) => {
        expect(verifyRequirements(b, `!=${a}`)).toBe(!verifyRequirements(b, `==${a}`));
      }),
    );
  });

  it("AND and OR combine parts as intersection and union", () => {
    const simple = fc.tuple(fc.constantFrom("^", "~", ">", ">=", "<", "<=", "", "!=", "~="), release).map(
      ([op, r]) => `${op}${r.join(".")}`,
    );
    fc.assert(
      fc.property(simple, simple, versionText, (x, y, v) => {
        const both = verifyRequirements(v, x) && verifyRequirements(v, y);
        const either = verifyRequirements(v, x) || verifyRequirements(v, y);
        expect(verifyRequirements(v, `${x},${y}`)).toBe(both);
        expect(verifyRequirements(v, `${x} ${y}`)).toBe(both);
        expect(verifyRequirements(v, `${x} || ${y}`)).toBe(either);
        expect(verifyRequirements(v, `${x}|${y}`)).toBe(either);
      }),
    );
  });

  it(">= and < split every version between them", () => {
    fc.assert(
      fc.property(release, versionText, (bound, v) => {
        const b = bound.join(".");
        const version = Pep440Version.parse(v).withoutLocal();
        const limit = Pep440Version.parse(b);
        // V's own pre- and development releases are neither >=V nor <V (PEP 440's <V exclusion).
        const inFamily = version.compare(Pep440Version.fromParts({ release: limit.release, dev: 0n })) >= 0 && version.compare(limit) < 0;
        if (!inFamily) expect(verifyRequirements(v, `>=${b}`)).toBe(!verifyRequirements(v, `<${b}`));
      }),
    );
  });

  it("^V and ~V and ~=V always allow V itself", () => {
    fc.assert(
      fc.property(release, (r) => {
        const v = r.join(".");
        for (const op of ["^", "~", "~=", ">=", "<=", "=="]) expect(verifyRequirements(v, `${op}${v}`)).toBe(true);
      }),
    );
  });
});
