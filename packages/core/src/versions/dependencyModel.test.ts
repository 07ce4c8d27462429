import { describe, expect, it } from "vitest";
import {
  InvalidDependencyModel,
  canUpgrade,
  checkDependencies,
  dependencyModelSchema,
  parseDependencyModel,
} from "./dependencyModel.js";
import type { DependencyModel } from "./dependencyModel.js";

function model(dependencies: unknown, upgradeSupported: unknown, version: unknown): unknown {
  return { name: "gandalf", dependencies, upgrade_supported: upgradeSupported, version };
}

function problems(data: unknown): readonly string[] {
  try {
    parseDependencyModel(data, "kafka_service");
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDependencyModel);
    expect((error as InvalidDependencyModel).code).toBe("INVALID_DEPENDENCY_MODEL");
    expect((error as InvalidDependencyModel).message).toMatch(/^kafka_service is not a valid version declaration/);
    return (error as InvalidDependencyModel).problems;
  }
  throw new Error("the model was accepted");
}

describe("dependencyModelSchema", () => {
  it.each<[string, unknown, unknown, unknown]>([
    ["a range containing the version", { grey: ">5" }, ">1.2", "7"],
    ["several dependencies", { grey: "~1.0", bilbo: "^1.2.5" }, ">1.2", "7"],
    ["no dependencies", {}, ">1.2", "7"],
    ["*", { x: ">5" }, "*", "7"],
    ["^7", { x: ">5" }, "^7", "7"],
    [">=7", { x: ">5" }, ">=7", "7"],
    ["an OR", { x: ">5" }, "^1 || ^7", "7"],
    ["an open range below", { x: ">5" }, ">=0.8", "3.3.2"],
  ])("accepts %s", (_, dependencies, upgradeSupported, version) => {
    expect(dependencyModelSchema.safeParse(model(dependencies, upgradeSupported, version)).success).toBe(true);
  });

  it("ignores extra keys and accepts an empty name", () => {
    const parsed = parseDependencyModel({ name: "", version: "1", upgrade_supported: "*", dependencies: {}, extra: 1 });
    expect(parsed).toEqual({ name: "", version: "1", upgrade_supported: "*", dependencies: {} });
  });

  it("requires all four keys", () => {
    expect(problems({})).toEqual([
      expect.stringMatching(/^name: /),
      expect.stringMatching(/^version: /),
      expect.stringMatching(/^upgrade_supported: /),
      expect.stringMatching(/^dependencies: /),
    ]);
  });

  it("rejects a version outside its own range, saying so correctly", () => {
    expect(problems(model({ grey: ">5" }, ">5", "4"))).toEqual([
      expect.stringMatching(/^version: "4" is outside this build's own upgrade_supported ">5"/),
    ]);
    const [problem] = problems(model({ x: ">5" }, "<7", "7"));
    expect(problem).toContain('"7" is outside');
    expect(problem).not.toContain("greater than");
  });

  it("reads a bare version in upgrade_supported as exactly that version", () => {
    expect(problems(model({ grey: ">5" }, "1.3", "7"))).toEqual([expect.stringMatching(/^version: "7" is outside/)]);
  });

  it.each([[{ grey: "saruman" }], [{ grey: "" }], [{ grey: "~1.0", bilbo: "balrog" }], [{ grey: "~1.0", bilbo: "" }]])(
    "rejects an invalid dependency constraint %j",
    (dependencies) => {
      const found = problems(model(dependencies, ">6", "7"));
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^dependencies\.(grey|bilbo): version constraint .* is not valid/);
    },
  );

  it.each([["saruman"], [""]])("rejects an invalid upgrade_supported %j", (upgradeSupported) => {
    expect(problems(model({ grey: ">5" }, upgradeSupported, "7"))).toEqual([
      expect.stringMatching(/^upgrade_supported: version constraint/),
    ]);
  });

  it.each([["abc"], ["8/stable"]])("rejects a version %j that is not PEP 440", (version) => {
    expect(problems(model({ x: ">5" }, ">1.2", version))).toEqual([
      expect.stringMatching(/^version: .* is not a PEP 440 version/),
    ]);
  });

  it("checks the version only when the constraints are valid", () => {
    expect(problems(model({ x: "nope" }, ">1.2", "abc"))).toEqual([expect.stringMatching(/^dependencies\.x: /)]);
  });

  it("rejects values that are not strings", () => {
    expect(problems(model({ x: 5 }, ">1.2", "7"))).toEqual([expect.stringMatching(/^dependencies\.x: /)]);
    expect(problems(model({}, ">1.2", 7))).toEqual([expect.stringMatching(/^version: /)]);
  });
});

describe("canUpgrade", () => {
  const declaration = (version: string, upgradeSupported: string): DependencyModel =>
    parseDependencyModel({ name: "x", version, upgrade_supported: upgradeSupported, dependencies: {} });

  it.each<[string, string, string, string, boolean]>([
    ["0.2.1", "~0.2", "7", ">1.2", false],
    ["1.3", ">0.2", "7", ">1.2", true],
    ["3.3.2", ">=0.8", "3.6.0", "^3.3", true],
    ["3.3.2", ">=0.8", "3.6.0", "^3.5", false],
    ["3.6.0", "^3.3", "3.3.2", ">=0.8", true],
  ])("from %s (%s) to %s (%s): %s", (fromVersion, fromRange, toVersion, toRange, expected) => {
    expect(canUpgrade(declaration(fromVersion, fromRange), declaration(toVersion, toRange))).toBe(expected);
  });

  it("always allows staying on (or rolling back to) the same build", () => {
    for (const [version, range] of [["7", ">=7"], ["1.2.3", "^1.2"], ["0.0.1", "~0.0.1"]] as const) {
      const same = declaration(version, range);
      expect(canUpgrade(same, same)).toBe(true);
    }
  });
});

describe("checkDependencies", () => {
  const kafka = parseDependencyModel({
    name: "kafka",
    version: "3.6.0",
    upgrade_supported: "^3",
    dependencies: { zookeeper: "^3.6", "schema-registry": ">=1.0,<2" },
  });

  it("finds nothing when every related application is in range", () => {
    expect(checkDependencies(kafka, { zookeeper: "3.8.1", "schema-registry": "1.4" })).toEqual([]);
  });

  it("reports an application that has not reported its version", () => {
    const findings = checkDependencies(kafka, { zookeeper: "3.8.1" });
    expect(findings).toEqual([
      expect.objectContaining({ code: "DEPENDENCY_VERSION_UNKNOWN", app: "schema-registry", constraint: ">=1.0,<2", version: undefined }),
    ]);
    expect(findings[0]?.message).toContain("schema-registry has not reported its version");
  });

  it("reports each application outside its range, in declaration order", () => {
    const findings = checkDependencies(kafka, { zookeeper: "3.4.14", "schema-registry": "2.0" });
    expect(findings.map((f) => [f.code, f.app, f.version])).toEqual([
      ["DEPENDENCY_VERSION_UNSATISFIED", "zookeeper", "3.4.14"],
      ["DEPENDENCY_VERSION_UNSATISFIED", "schema-registry", "2.0"],
    ]);
    expect(findings[0]?.message).toBe("kafka needs zookeeper ^3.6, but zookeeper runs 3.4.14; refresh zookeeper to a version in that range first, or roll back");
  });

  it("reports a version text that is not PEP 440 instead of throwing", () => {
    expect(checkDependencies(kafka, { zookeeper: "latest/stable", "schema-registry": undefined }).map((f) => f.code)).toEqual([
      "DEPENDENCY_VERSION_INVALID",
      "DEPENDENCY_VERSION_UNKNOWN",
    ]);
  });

  it("does not take inherited properties for reported versions", () => {
    const findings = checkDependencies({ name: "x", dependencies: { toString: "*" } }, {});
    expect(findings.map((f) => f.code)).toEqual(["DEPENDENCY_VERSION_UNKNOWN"]);
  });
});
