import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyJsonPatch, applyMergePatch, changedPaths, PatchRejected, strategicDirectives } from "./patch.js";

describe("applyMergePatch (RFC 7386)", () => {
  it("merges objects, deletes on null and replaces arrays and scalars", () => {
    expect(applyMergePatch({ a: "b", c: { d: "e", f: "g" } }, { a: "z", c: { f: null } })).toEqual({ a: "z", c: { d: "e" } });
    expect(applyMergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(applyMergePatch({ a: { b: 1 } }, { a: 5 })).toEqual({ a: 5 });
    expect(applyMergePatch({ a: 1 }, ["x"])).toEqual(["x"]);
  });

  it("does not modify its inputs", () => {
    const target = { spec: { partition: 1 } };
    applyMergePatch(target, { spec: { partition: 2 } });
    expect(target).toEqual({ spec: { partition: 1 } });
  });

  it("is idempotent, and a patch without changes leaves the document as it was", () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(json, json, (target, patch) => {
        const once = applyMergePatch(target, patch);
        expect(applyMergePatch(once, patch)).toEqual(once);
        expect(changedPaths(target, applyMergePatch(target, {}))).toEqual(
          typeof target === "object" && target !== null && !Array.isArray(target) ? [] : ["/"],
        );
      }),
    );
  });
});

describe("applyJsonPatch", () => {
  const doc = { metadata: { resourceVersion: "7" }, spec: { updateStrategy: { rollingUpdate: { partition: 2 } } } };

  it("applies test then replace", () => {
    const result = applyJsonPatch(doc, [
      { op: "test", path: "/metadata/resourceVersion", value: "7" },
      { op: "replace", path: "/spec/updateStrategy/rollingUpdate/partition", value: 0 },
    ]);
    expect(result).toEqual({ metadata: { resourceVersion: "7" }, spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
  });

  it("rejects a failed test, a missing path and a non-array patch", () => {
    expect(() => applyJsonPatch(doc, [{ op: "test", path: "/metadata/resourceVersion", value: "6" }])).toThrow(PatchRejected);
    expect(() => applyJsonPatch(doc, [{ op: "replace", path: "/spec/nope/x", value: 1 }])).toThrow(/does not exist/);
    expect(() => applyJsonPatch(doc, { op: "replace" })).toThrow(/array/);
  });

  it("gives each rejection a stable code next to the HTTP status the API server answers with", () => {
    const rejection = (patch: unknown): unknown => {
      try {
        applyJsonPatch(doc, patch);
      } catch (error) {
        return error;
      }
      throw new Error("expected the patch to be rejected");
    };
    expect(rejection([{ op: "test", path: "/metadata/resourceVersion", value: "6" }])).toMatchObject({ code: "PATCH_TEST_FAILED", status: 422, reason: "Invalid" });
    expect(rejection([{ op: "replace", path: "/spec/nope/x", value: 1 }])).toMatchObject({ code: "PATCH_PATH_MISSING", status: 422 });
    expect(rejection([{ op: "replace", path: "spec" }])).toMatchObject({ code: "PATCH_INVALID_PATH", status: 400, reason: "BadRequest" });
    expect(rejection([{ op: "move", path: "/spec", from: "/metadata" }])).toMatchObject({ code: "PATCH_UNSUPPORTED_OPERATION", status: 422 });
    expect(rejection({ op: "replace" })).toMatchObject({ code: "PATCH_NOT_AN_ARRAY", status: 400 });
  });
});

describe("changedPaths and strategicDirectives", () => {
  it("names every changed leaf", () => {
    expect(changedPaths({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 4 }, e: 5 })).toEqual(["/b/c", "/b/d", "/e"]);
  });

  it("finds strategic-merge directives at any depth", () => {
    expect(strategicDirectives({ spec: { template: { $patch: "replace" } }, list: [{ $retainKeys: [] }] })).toEqual([
      "/spec/template/$patch",
      "/list/0/$retainKeys",
    ]);
  });
});
