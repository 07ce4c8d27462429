import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CharmVersion, CharmVersionTrackMismatch, InvalidCharmVersion } from "./charmVersion.js";
import type { InvalidCharmVersionReason } from "./charmVersion.js";

function rejection(text: string): InvalidCharmVersion {
  try {
    new CharmVersion(text);
  } catch (error) {
    if (error instanceof InvalidCharmVersion) return error;
    throw error;
  }
  throw new Error(`${text} was accepted`);
}

describe("CharmVersion", () => {
  it("reads a released version", () => {
    const version = new CharmVersion("16/1.19.0");
    expect(version.track).toBe("16");
    expect(version.major).toBe(1);
    expect(version.released).toBe(true);
    expect(version.toString()).toBe("16/1.19.0");
    expect(JSON.stringify({ version })).toBe('{"version":"16/1.19.0"}');
  });

  it("reads a development build and keeps its original text", () => {
    const version = CharmVersion.parse("16/1.19.0.post1.dev0+71201f4.dirty");
    expect(version.track).toBe("16");
    expect(version.major).toBe(1);
    expect(version.released).toBe(false);
    expect(version.version.local).toEqual(["71201f4", "dirty"]);
    expect(String(version)).toBe("16/1.19.0.post1.dev0+71201f4.dirty");
  });

  it.each([
    ["16/1.19.0", true],
    ["16/0.0.0", true],
    ["16/10.200.3000", true],
    ["/1.2.3", true],
    ["16/1.19.0rc1", false],
    ["16/1.19.0.post1", false],
    ["16/1.19.0.dev0", false],
    ["16/1.19.0+abc", false],
    ["16/v1.19.0", false],
    ["16/1.09.0", false],
    ["16/01.9.0", false],
    ["16/1.19.0 ", false],
    ["16/1.19.00", false],
  ])("%j released = %j", (text, released) => {
    expect(new CharmVersion(text).released).toBe(released);
  });

  it("takes any text before the slash as the track", () => {
    expect(new CharmVersion("/1.2.3").track).toBe("");
    expect(new CharmVersion("latest/1.2.3").track).toBe("latest");
  });

  it.each<[string, InvalidCharmVersionReason, string]>([
    ["1.19.0", "SLASH_COUNT", "exactly one"],
    ["16/stable/1.19.0", "SLASH_COUNT", "found 2"],
    ["", "SLASH_COUNT", "exactly one"],
    ["16/1!1.19.0", "EPOCH", "epoch"],
    ["16/abc", "NOT_PEP440", "not a PEP 440"],
    ["16/", "NOT_PEP440", "not a PEP 440"],
    ["16/1.19", "RELEASE_COMPONENTS", "has 2 release components"],
    ["16/1.19.0.1", "RELEASE_COMPONENTS", "has 4 release components"],
    ["16/1", "RELEASE_COMPONENTS", "has 1 release components"],
    ["16/99999999999999999999.0.0", "MAJOR_TOO_LARGE", "too large"],
  ])("rejects %j (%s)", (text, reason, fragment) => {
    const error = rejection(text);
    expect(error.code).toBe("INVALID_CHARM_VERSION");
    expect(error.reason).toBe(reason);
    expect(error.text).toBe(text);
    expect(error.message).toContain(JSON.stringify(text));
    expect(error.message).toContain(fragment);
  });

  it("compares equality by original text, also with plain strings", () => {
    const a = new CharmVersion("16/1.19.0");
    expect(a.equals(new CharmVersion("16/1.19.0"))).toBe(true);
    expect(a.equals("16/1.19.0")).toBe(true);
    expect(a.equals("16/1.19.0 ")).toBe(false);
    // PEP 440 equal, textually different: not equal, and ordered as equal.
    const b = new CharmVersion("16/v1.19.0");
    expect(a.equals(b)).toBe(false);
    expect(a.compare(b)).toBe(0);
  });

  it("orders versions of one track by PEP 440", () => {
    const ordered = ["16/1.19.0.dev0", "16/1.19.0rc1", "16/1.19.0", "16/1.19.0.post1.dev0+abc", "16/1.19.0.post1", "16/1.20.0", "16/2.0.0"];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const left = new CharmVersion(ordered[i] ?? "");
        const right = new CharmVersion(ordered[j] ?? "");
        expect(left.compare(right), `${left} vs ${right}`).toBe(Math.sign(i - j));
      }
    }
  });

  it("refuses to order versions of different tracks", () => {
    const a = new CharmVersion("16/1.19.0");
    const b = new CharmVersion("14/1.19.0");
    expect(() => a.compare(b)).toThrow(CharmVersionTrackMismatch);
    try {
      a.compare(b);
    } catch (error) {
      expect((error as CharmVersionTrackMismatch).code).toBe("CHARM_VERSION_TRACK_MISMATCH");
      expect((error as CharmVersionTrackMismatch).track).toBe("16");
      expect((error as CharmVersionTrackMismatch).otherTrack).toBe("14");
    }
  });

  it("round-trips any well-formed text and decides released exactly as the spec's textual rule", () => {
    const component = fc.nat({ max: 1000 }).map(String);
    const suffix = fc.constantFrom("", "rc1", ".post1", ".dev0", "+abc", ".post1.dev0+71201f4.dirty");
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9-]{0,8}$/), fc.tuple(component, component, component), suffix, (track, release, tail) => {
        const text = `${track}/${release.join(".")}${tail}`;
        const version = new CharmVersion(text);
        expect(version.toString()).toBe(text);
        expect(version.track).toBe(track);
        expect(version.major).toBe(Number(release[0]));
        expect(version.released).toBe(tail === "");
      }),
    );
  });
});
