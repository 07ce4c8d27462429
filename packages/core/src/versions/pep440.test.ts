import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RefreshError } from "../errors.js";
import { InvalidVersion, Pep440Version, comparePep440, normalizePep440 } from "./pep440.js";
import type { Pep440Parts, PreReleaseLabel } from "./pep440.js";

describe("Pep440Version.parse", () => {
  it.each([
    ["7", "7"],
    ["1.0", "1.0"],
    ["1.2.3.4.5", "1.2.3.4.5"],
    ["v1.2.3", "1.2.3"],
    ["V1.2.3", "1.2.3"],
    ["01.02.003", "1.2.3"],
    ["  1.2  ", "1.2"],
    ["1!2.0", "1!2.0"],
    ["1.0a1", "1.0a1"],
    ["1.0.a1", "1.0a1"],
    ["1.0-alpha.1", "1.0a1"],
    ["1.0ALPHA1", "1.0a1"],
    ["1.0-beta", "1.0b0"],
    ["1.0_b_2", "1.0b2"],
    ["1.0c1", "1.0rc1"],
    ["1.0pre1", "1.0rc1"],
    ["1.0preview2", "1.0rc2"],
    ["1.0-rc.1", "1.0rc1"],
    ["1.0RC3", "1.0rc3"],
    ["1.0.post1", "1.0.post1"],
    ["1.0post", "1.0.post0"],
    ["1.0-post-2", "1.0.post2"],
    ["1.0-1", "1.0.post1"],
    ["1.0.rev3", "1.0.post3"],
    ["1.0r4", "1.0.post4"],
    ["1.0.dev0", "1.0.dev0"],
    ["1.0dev", "1.0.dev0"],
    ["1.0-dev-7", "1.0.dev7"],
    ["1.0a1.post2.dev3", "1.0a1.post2.dev3"],
    ["1.0+abc", "1.0+abc"],
    ["1.0+Ubuntu-1_02", "1.0+ubuntu.1.2"],
    ["1.19.0.post1.dev0+71201f4.dirty", "1.19.0.post1.dev0+71201f4.dirty"],
    ["99999999999999999999999.1", "99999999999999999999999.1"],
  ])("reads %j as %j", (text, normal) => {
    const version = Pep440Version.parse(text);
    expect(version.toString()).toBe(normal);
    expect(version.text).toBe(text);
    expect(normalizePep440(text)).toBe(normal);
  });

  it("exposes the parts of a version", () => {
    const version = Pep440Version.parse("2!1.19.0rc2.post3.dev4+abc.7");
    expect(version.epoch).toBe(2n);
    expect(version.release).toEqual([1n, 19n, 0n]);
    expect(version.pre).toEqual({ label: "rc", number: 2n });
    expect(version.post).toBe(3n);
    expect(version.dev).toBe(4n);
    expect(version.local).toEqual(["abc", "7"]);
    expect(version.baseVersion).toBe("2!1.19.0");
    expect(version.publicVersion).toBe("2!1.19.0rc2.post3.dev4");
    expect(version.isPreRelease && version.isPostRelease && version.isDevRelease && version.isLocal).toBe(true);
  });

  it.each([
    "",
    " ",
    "abc",
    "8/stable",
    "1.",
    ".1",
    "1..2",
    "1.0+",
    "1.0+abc..d",
    "1.0+a b",
    "1.0-",
    "1.0gamma1",
    "1.0 rc1",
    "vv1.0",
    "1.0.x",
    "1.*",
    "-1.0",
    "1.0a1a2",
    "1!",
    "!1.0",
    "1.0.post1.post2",
  ])("rejects %j with InvalidVersion naming it", (text) => {
    expect(Pep440Version.tryParse(text)).toBeUndefined();
    let thrown: unknown;
    try {
      Pep440Version.parse(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidVersion);
    expect(thrown).toBeInstanceOf(RefreshError);
    expect((thrown as InvalidVersion).code).toBe("INVALID_VERSION");
    expect((thrown as InvalidVersion).text).toBe(text);
    expect((thrown as InvalidVersion).message).toContain(JSON.stringify(text));
  });
});

describe("PEP 440 ordering", () => {
  // Each entry is strictly newer than the one before; entries within one inner list are equal.
  const ascending: string[][] = [
    ["0.9"],
    ["1.0.dev0", "1.0.0.dev0", "1-dev"],
    ["1.0.dev1"],
    ["1.0a0.dev0"],
    ["1.0a0", "1.0alpha"],
    ["1.0a1.dev0"],
    ["1.0a1"],
    ["1.0a1.post0.dev0"],
    ["1.0a1.post0"],
    ["1.0a2"],
    ["1.0a10"],
    ["1.0b1", "1.0beta1"],
    ["1.0rc1", "1.0c1", "1.0pre1", "1.0preview1"],
    ["1.0", "1", "1.0.0", "v1.0.0.0", "01.00"],
    ["1.0+0abc"],
    ["1.0+abc"],
    ["1.0+abc.1"],
    ["1.0+abc.2"],
    ["1.0+1", "1.0+01"],
    ["1.0+1.abc"],
    ["1.0+2"],
    ["1.0+10"],
    ["1.0.post0.dev0"],
    ["1.0.post0", "1.0-0", "1.0post"],
    ["1.0.post1", "1.0-1", "1.0.rev1"],
    ["1.0.post1+local"],
    ["1.0.post2"],
    ["1.0.1.dev0"],
    ["1.0.1"],
    ["1.2"],
    ["1.10"],
    ["1.35.8"],
    ["2.0.0a1"],
    ["2"],
    ["10"],
    ["1!0.1"],
    ["1!1.0"],
  ];

  it("orders a hand-written ladder of versions", () => {
    ascending.forEach((group, index) => {
      for (const a of group) {
        for (const b of group) expect(comparePep440(a, b), `${a} == ${b}`).toBe(0);
        for (const lower of ascending.slice(0, index).flat()) {
          expect(comparePep440(lower, a), `${lower} < ${a}`).toBe(-1);
          expect(comparePep440(a, lower), `${a} > ${lower}`).toBe(1);
        }
      }
    });
  });

  it("sorts with comparePep440 as a comparator", () => {
    const shuffled = ["1.10", "1.0rc1", "1.0.post1", "1.0.dev0", "1.2", "1.0", "1.0a1"];
    expect([...shuffled].sort(comparePep440)).toEqual(["1.0.dev0", "1.0a1", "1.0rc1", "1.0", "1.0.post1", "1.2", "1.10"]);
  });

  it("treats equality as PEP 440 equality, not text equality", () => {
    expect(Pep440Version.parse("1.0").equals(Pep440Version.parse("1.0.0"))).toBe(true);
    expect(Pep440Version.parse("1.0").equals(Pep440Version.parse("1.0+abc"))).toBe(false);
  });
});

describe("Pep440Version.fromParts", () => {
  it("builds the normal form", () => {
    expect(Pep440Version.fromParts({ release: [1n, 2n], pre: { label: "b", number: 3n }, dev: 0n }).text).toBe(
      "1.2b3.dev0",
    );
  });

  it("refuses parts no text could produce", () => {
    expect(() => Pep440Version.fromParts({ release: [] })).toThrow(TypeError);
    expect(() => Pep440Version.fromParts({ release: [-1n] })).toThrow(TypeError);
    expect(() => Pep440Version.fromParts({ release: [1n], local: ["a.b"] })).toThrow(TypeError);
  });

  it("drops segments on request", () => {
    const version = Pep440Version.parse("1.0.post2.dev1+abc");
    expect(version.withoutLocal().toString()).toBe("1.0.post2.dev1");
    expect(version.withoutPostRelease().toString()).toBe("1.0+abc");
  });
});

// Property tests: versions are generated as parts, written with random (valid) spellings.
const number = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.bigInt({ min: 0n, max: 10n ** 25n })).map(BigInt);
const smallNumber = fc.integer({ min: 0, max: 3 }).map(BigInt);
const label: fc.Arbitrary<PreReleaseLabel> = fc.constantFrom("a", "b", "rc");
const localSegment = fc.oneof(
  fc.integer({ min: 0, max: 20 }).map(String),
  fc.stringMatching(/^[a-z][a-z0-9]{0,4}$/),
);

const partsArbitrary: fc.Arbitrary<Pep440Parts> = fc.record({
  epoch: fc.oneof({ weight: 4, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: smallNumber }),
  release: fc.array(fc.oneof(smallNumber, number), { minLength: 1, maxLength: 5 }),
  pre: fc.option(fc.record({ label, number: smallNumber }), { nil: undefined }),
  post: fc.option(smallNumber, { nil: undefined }),
  dev: fc.option(smallNumber, { nil: undefined }),
  local: fc.option(fc.array(localSegment, { minLength: 1, maxLength: 3 }), { nil: undefined }),
});

const spellings: Record<PreReleaseLabel, string[]> = {
  a: ["a", "alpha", "A", "Alpha"],
  b: ["b", "beta", "B"],
  rc: ["rc", "c", "pre", "preview", "RC"],
};

/** Writes parts as text, choosing among the spellings PEP 440 accepts. */
const spelledArbitrary = partsArbitrary.chain((parts) =>
  fc
    .record({
      v: fc.constantFrom("", "v", "V"),
      sep: fc.constantFrom("", ".", "-", "_"),
      preLabel: fc.constantFrom(...spellings[parts.pre?.label ?? "a"]),
      implicitPost: fc.boolean(),
      postLabel: fc.constantFrom("post", "rev", "r", "POST"),
      zeros: fc.constantFrom("", "0", "00"),
      localSep: fc.constantFrom(".", "-", "_"),
      space: fc.constantFrom("", " ", "\t"),
    })
    .map((s) => {
      let text = s.space + s.v;
      if (parts.epoch !== undefined && parts.epoch !== 0n) text += `${parts.epoch}!`;
      text += parts.release.map((n) => s.zeros + n.toString()).join(".");
      if (parts.pre !== undefined) text += `${s.sep}${s.preLabel}${s.sep}${parts.pre.number}`;
      if (parts.post !== undefined) {
        text += s.implicitPost ? `-${parts.post}` : `${s.sep}${s.postLabel}${s.sep}${parts.post}`;
      }
      if (parts.dev !== undefined) text += `${s.sep}dev${s.sep}${parts.dev}`;
      if (parts.local !== undefined) text += `+${parts.local.join(s.localSep)}`;
      return { parts, text: text + s.space };
    }),
);

const versionArbitrary = partsArbitrary.map((parts) => Pep440Version.fromParts(parts));

describe("PEP 440 properties", () => {
  it("parses every valid spelling back to the parts it was written from", () => {
    fc.assert(
      fc.property(spelledArbitrary, ({ parts, text }) => {
        const version = Pep440Version.parse(text);
        expect(version.equals(Pep440Version.fromParts(parts))).toBe(true);
        expect(version.toString()).toBe(Pep440Version.fromParts(parts).toString());
      }),
    );
  });

  it("normalising is idempotent and parse ∘ normalise preserves the version", () => {
    fc.assert(
      fc.property(spelledArbitrary, ({ text }) => {
        const normal = normalizePep440(text);
        expect(normalizePep440(normal)).toBe(normal);
        expect(comparePep440(normal, text)).toBe(0);
      }),
    );
  });

  it("is antisymmetric and reflexive", () => {
    fc.assert(
      fc.property(versionArbitrary, versionArbitrary, (a, b) => {
        expect(a.compare(a)).toBe(0);
        expect(a.compare(b)).toBe(-b.compare(a));
      }),
    );
  });

  it("is transitive", () => {
    fc.assert(
      fc.property(versionArbitrary, versionArbitrary, versionArbitrary, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(comparePep440) as [Pep440Version, Pep440Version, Pep440Version];
        expect(x.compare(y)).toBeLessThanOrEqual(0);
        expect(y.compare(z)).toBeLessThanOrEqual(0);
        expect(x.compare(z)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it("ignores trailing zeros of the release", () => {
    fc.assert(
      fc.property(versionArbitrary, fc.integer({ min: 1, max: 3 }), (version, extra) => {
        const padded = Pep440Version.fromParts({
          ...version.parts(),
          release: [...version.release, ...Array<bigint>(extra).fill(0n)],
        });
        expect(padded.compare(version)).toBe(0);
      }),
    );
  });

  it("puts dev < pre < release < post for any release", () => {
    fc.assert(
      fc.property(fc.array(number, { minLength: 1, maxLength: 4 }), label, smallNumber, (release, preLabel, n) => {
        const ladder = [
          { release, dev: n },
          { release, pre: { label: preLabel, number: n } },
          { release },
          { release, local: ["x"] },
          { release, post: n },
        ].map((parts) => Pep440Version.fromParts(parts));
        for (let i = 1; i < ladder.length; i++) {
          expect(ladder[i - 1]?.compare(ladder[i] as Pep440Version)).toBe(-1);
        }
      }),
    );
  });

  it("orders by release numbers first, numerically", () => {
    fc.assert(
      fc.property(partsArbitrary, partsArbitrary, (a, b) => {
        const left = Pep440Version.fromParts({ ...a, epoch: 0n, release: [1n, ...a.release] });
        const right = Pep440Version.fromParts({ ...b, epoch: 0n, release: [2n, ...b.release] });
        expect(left.compare(right)).toBe(-1);
      }),
    );
  });
});
