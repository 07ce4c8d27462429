import { describe, expect, it } from "vitest";
import { InMemoryStatefulSet } from "./kubernetes-workload.js";

const V1 = { charmRevision: 1, image: "db@sha256:1111" };

describe("InMemoryStatefulSet refuses what a test cannot ask of a StatefulSet", () => {
  it("a partition below zero or not whole, leaving the partition as it was", () => {
    const sts = new InMemoryStatefulSet("db", V1);
    sts.setPartition(2);
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => sts.setPartition(bad)).toThrow(expect.objectContaining({ code: "SIM_INVALID_PARTITION" }));
    }
    expect(sts.partition).toBe(2);
  });

  it("the template of a revision it never made", () => {
    const sts = new InMemoryStatefulSet("db", V1);
    expect(sts.templateOf(sts.currentRevision)).toEqual(V1);
    expect(() => sts.templateOf("db-nope")).toThrow(expect.objectContaining({ code: "SIM_UNKNOWN_REVISION" }));
  });
});
