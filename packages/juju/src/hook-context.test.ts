import { describe, expect, it } from "vitest";
import { InvalidHookEnvironment } from "./errors.js";
import { parseHookContext } from "./hook-context.js";

const MODEL_UUID = "0b5d6a8e-1f0c-4d7e-9a4b-3c2d1e0f9a8b";

/** What Juju sets for every event (minus the event-specific variables). */
function baseEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    JUJU_DISPATCH_PATH: "hooks/config-changed",
    JUJU_HOOK_NAME: "config-changed",
    JUJU_UNIT_NAME: "postgresql-k8s/2",
    JUJU_MODEL_NAME: "prod",
    JUJU_MODEL_UUID: MODEL_UUID,
    JUJU_VERSION: "3.6.4",
    JUJU_CHARM_DIR: "/var/lib/juju/agents/unit-postgresql-k8s-2/charm",
    JUJU_CONTEXT_ID: "postgresql-k8s/2-config-changed-123",
    KUBERNETES_SERVICE_HOST: "10.152.183.1",
    PATH: "/usr/bin:/bin",
    ...overrides,
  };
}

function relationEnv(hook: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return baseEnv({
    JUJU_DISPATCH_PATH: `hooks/refresh-v-three-relation-${hook}`,
    JUJU_HOOK_NAME: `refresh-v-three-relation-${hook}`,
    JUJU_RELATION: "refresh-v-three",
    JUJU_RELATION_ID: "refresh-v-three:3",
    JUJU_REMOTE_APP: "postgresql-k8s",
    JUJU_REMOTE_UNIT: "postgresql-k8s/0",
    ...overrides,
  });
}

function failureOf(env: Record<string, string | undefined>, options?: { cwd?: string }): InvalidHookEnvironment {
  try {
    parseHookContext(env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidHookEnvironment);
    return error as InvalidHookEnvironment;
  }
  throw new Error("expected parseHookContext to reject the environment");
}

describe("parseHookContext", () => {
  it("reads an ordinary hook", () => {
    const context = parseHookContext(baseEnv());
    expect(context.event).toEqual({ kind: "hook", name: "config-changed" });
    expect(context.unitName).toBe("postgresql-k8s/2");
    expect(context.appName).toBe("postgresql-k8s");
    expect(context.unitNumber).toBe(2);
    expect(context.modelName).toBe("prod");
    expect(context.modelUuid).toBe(MODEL_UUID);
    expect(context.jujuVersion).toBe("3.6.4");
    expect(context.charmDir).toBe("/var/lib/juju/agents/unit-postgresql-k8s-2/charm");
    expect(context.relation).toBeUndefined();
    expect(context.remoteUnit).toBeUndefined();
    expect(context.remoteApp).toBeUndefined();
    expect(context.departingUnit).toBeUndefined();
  });

  it("keeps the variables it did not consume in environment, and drops the ones it did", () => {
    const { environment } = parseHookContext(baseEnv());
    expect(environment["KUBERNETES_SERVICE_HOST"]).toBe("10.152.183.1");
    expect(environment["JUJU_CONTEXT_ID"]).toBe("postgresql-k8s/2-config-changed-123");
    expect(environment["PATH"]).toBe("/usr/bin:/bin");
    expect(environment).not.toHaveProperty("JUJU_UNIT_NAME");
    expect(environment).not.toHaveProperty("JUJU_DISPATCH_PATH");
  });

  it("reads an action with its id", () => {
    const context = parseHookContext(
      baseEnv({ JUJU_DISPATCH_PATH: "actions/resume-refresh", JUJU_HOOK_NAME: "", JUJU_ACTION_UUID: "7", JUJU_ACTION_NAME: "resume-refresh" }),
    );
    expect(context.event).toEqual({ kind: "action", name: "resume-refresh", id: "7" });
  });

  it("requires JUJU_ACTION_UUID for an action", () => {
    expect(failureOf(baseEnv({ JUJU_DISPATCH_PATH: "actions/pre-refresh-check" })).variable).toBe("JUJU_ACTION_UUID");
  });

  it("reads a relation-changed hook, including one fired by an application databag change", () => {
    const context = parseHookContext(relationEnv("changed"));
    expect(context.relation).toEqual({ endpoint: "refresh-v-three", id: "refresh-v-three:3" });
    expect(context.remoteUnit).toBe("postgresql-k8s/0");
    expect(context.remoteApp).toBe("postgresql-k8s");

    const appChange = parseHookContext(relationEnv("changed", { JUJU_REMOTE_UNIT: "" }));
    expect(appChange.remoteUnit).toBeUndefined();
    expect(appChange.remoteApp).toBe("postgresql-k8s");
  });

  it("reads the departing unit of a relation-departed hook, which may be this unit", () => {
    const context = parseHookContext(relationEnv("departed", { JUJU_DEPARTING_UNIT: "postgresql-k8s/2" }));
    expect(context.departingUnit).toBe("postgresql-k8s/2");
  });

  it("accepts a relation-broken hook without a remote application", () => {
    const context = parseHookContext(relationEnv("broken", { JUJU_REMOTE_APP: "", JUJU_REMOTE_UNIT: "" }));
    expect(context.relation?.id).toBe("refresh-v-three:3");
    expect(context.remoteApp).toBeUndefined();
  });

  it("uses the working directory when JUJU_CHARM_DIR is unset, and fails when neither is known", () => {
    expect(parseHookContext(baseEnv({ JUJU_CHARM_DIR: undefined }), { cwd: "/srv/charm" }).charmDir).toBe("/srv/charm");
    expect(failureOf(baseEnv({ JUJU_CHARM_DIR: undefined })).variable).toBe("JUJU_CHARM_DIR");
  });

  it.each(["JUJU_DISPATCH_PATH", "JUJU_UNIT_NAME", "JUJU_MODEL_NAME", "JUJU_MODEL_UUID", "JUJU_VERSION"])(
    "names %s when it is missing or empty",
    (variable) => {
      const missing = failureOf(baseEnv({ [variable]: undefined }));
      expect(missing.variable).toBe(variable);
      expect(missing.code).toBe("INVALID_HOOK_ENVIRONMENT");
      expect(missing.message).toContain(variable);
      expect(missing.message).toContain("dispatch");
      expect(failureOf(baseEnv({ [variable]: "" })).variable).toBe(variable);
    },
  );

  it.each([
    ["JUJU_RELATION", "changed", { JUJU_RELATION: undefined }],
    ["JUJU_RELATION_ID", "changed", { JUJU_RELATION_ID: undefined }],
    ["JUJU_RELATION", "joined", { JUJU_RELATION: undefined, JUJU_RELATION_ID: undefined }],
    ["JUJU_REMOTE_UNIT", "joined", { JUJU_REMOTE_UNIT: undefined }],
    ["JUJU_REMOTE_UNIT", "departed", { JUJU_REMOTE_UNIT: "", JUJU_DEPARTING_UNIT: "postgresql-k8s/0" }],
    ["JUJU_REMOTE_APP", "created", { JUJU_REMOTE_APP: undefined }],
    ["JUJU_DEPARTING_UNIT", "departed", {}],
  ] as const)("names %s when a relation-%s hook lacks it", (variable, hook, overrides) => {
    expect(failureOf(relationEnv(hook, overrides)).variable).toBe(variable);
  });

  it.each([
    ["JUJU_DISPATCH_PATH", "install"],
    ["JUJU_DISPATCH_PATH", "hooks/"],
    ["JUJU_DISPATCH_PATH", "hooks/a/b"],
    ["JUJU_DISPATCH_PATH", "scripts/install"],
    ["JUJU_UNIT_NAME", "postgresql-k8s"],
    ["JUJU_UNIT_NAME", "postgresql-k8s/two"],
    ["JUJU_UNIT_NAME", "Postgres/0"],
    ["JUJU_MODEL_UUID", "not-a-uuid"],
    ["JUJU_VERSION", "three"],
  ])("rejects a malformed %s (%s) and quotes the value", (variable, value) => {
    const error = failureOf(baseEnv({ [variable]: value }));
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it("rejects relation variables that disagree with each other or with the hook", () => {
    expect(failureOf(relationEnv("changed", { JUJU_RELATION_ID: "3" })).variable).toBe("JUJU_RELATION_ID");
    expect(failureOf(relationEnv("changed", { JUJU_RELATION_ID: "database:3" })).variable).toBe("JUJU_RELATION_ID");
    expect(
      failureOf(relationEnv("changed", { JUJU_RELATION: "database", JUJU_RELATION_ID: "database:3" })).variable,
    ).toBe("JUJU_RELATION");
  });

  it("rejects a malformed remote or departing unit", () => {
    expect(failureOf(relationEnv("changed", { JUJU_REMOTE_UNIT: "nope" })).variable).toBe("JUJU_REMOTE_UNIT");
    expect(failureOf(relationEnv("departed", { JUJU_DEPARTING_UNIT: "x/y" })).variable).toBe("JUJU_DEPARTING_UNIT");
  });

  it("accepts development and four-part Juju versions", () => {
    expect(parseHookContext(baseEnv({ JUJU_VERSION: "3.6-beta2" })).jujuVersion).toBe("3.6-beta2");
    expect(parseHookContext(baseEnv({ JUJU_VERSION: "2.9.42.1" })).jujuVersion).toBe("2.9.42.1");
  });
});
