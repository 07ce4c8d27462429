import { describe, expect, it } from "vitest";
import type { HookContext } from "@refresh/juju";
import { buildHookEnvironment } from "../model/simulator.js";
import { InvalidJujuEnvironmentError, type JujuEnvironmentDescription, buildJujuEnvironment, hookPath } from "./environment.js";

const base: JujuEnvironmentDescription = {
  event: { kind: "hook", name: "upgrade-charm" },
  unitName: "postgresql-k8s/2",
  modelName: "prod",
  modelUuid: "5f1e0c9a-0000-4000-8000-000000000000",
  jujuVersion: "3.6.4",
  charmDir: "/var/lib/juju/agents/unit-postgresql-k8s-2/charm",
};

describe("buildJujuEnvironment", () => {
  it("describes a plain hook like Juju does", () => {
    const env = buildJujuEnvironment(base);
    expect(env).toMatchObject({
      JUJU_DISPATCH_PATH: "hooks/upgrade-charm",
      JUJU_HOOK_NAME: "upgrade-charm",
      JUJU_UNIT_NAME: "postgresql-k8s/2",
      JUJU_MODEL_NAME: "prod",
      JUJU_MODEL_UUID: base.modelUuid,
      JUJU_CHARM_DIR: base.charmDir,
      CHARM_DIR: base.charmDir,
      JUJU_VERSION: "3.6.4",
      JUJU_PRINCIPAL_UNIT: "",
      LANG: "C.UTF-8",
    });
    for (const name of ["JUJU_RELATION", "JUJU_RELATION_ID", "JUJU_REMOTE_UNIT", "JUJU_ACTION_NAME", "JUJU_DEPARTING_UNIT"]) {
      expect(env).not.toHaveProperty(name);
    }
  });

  it("gives an action an empty hook name and its id", () => {
    const env = buildJujuEnvironment({ ...base, event: { kind: "action", name: "resume-refresh", id: "7" } });
    expect(env).toMatchObject({
      JUJU_DISPATCH_PATH: "actions/resume-refresh",
      JUJU_HOOK_NAME: "",
      JUJU_ACTION_NAME: "resume-refresh",
      JUJU_ACTION_UUID: "7",
      JUJU_ACTION_TAG: "action-7",
    });
  });

  it("sets the relation variables, with an empty remote unit for an application-data change", () => {
    const env = buildJujuEnvironment({
      ...base,
      event: { kind: "hook", name: "refresh-v-three-relation-changed" },
      relation: { endpoint: "refresh-v-three", id: "refresh-v-three:3" },
      remoteApp: "postgresql-k8s",
    });
    expect(env).toMatchObject({
      JUJU_RELATION: "refresh-v-three",
      JUJU_RELATION_ID: "refresh-v-three:3",
      JUJU_REMOTE_APP: "postgresql-k8s",
      JUJU_REMOTE_UNIT: "",
    });
  });

  it("tells a departing unit about itself", () => {
    const env = buildJujuEnvironment({
      ...base,
      event: { kind: "hook", name: "refresh-v-three-relation-departed" },
      relation: { endpoint: "refresh-v-three", id: "refresh-v-three:3" },
      remoteUnit: "postgresql-k8s/0",
      remoteApp: "postgresql-k8s",
      departingUnit: "postgresql-k8s/2",
    });
    expect(env["JUJU_DEPARTING_UNIT"]).toBe("postgresql-k8s/2");
    expect(env["JUJU_REMOTE_UNIT"]).toBe("postgresql-k8s/0");
  });

  it("passes extra variables through but refuses ones that would impersonate Juju", () => {
    expect(buildJujuEnvironment({ ...base, extra: { KUBERNETES_SERVICE_HOST: "10.0.0.1" } })["KUBERNETES_SERVICE_HOST"]).toBe("10.0.0.1");
    expect(() => buildJujuEnvironment({ ...base, extra: { JUJU_UNIT_NAME: "other/0" } })).toThrow(InvalidJujuEnvironmentError);
  });

  it.each([
    [{ unitName: "postgresql-k8s" }, /unitName: expected a unit name/],
    [{ charmDir: "charm" }, /charmDir: expected an absolute path/],
    [{ relation: { endpoint: "peers", id: "7" } }, /relation.id: expected <endpoint>:<number>/],
    [{ event: { kind: "action", name: "x", id: "" } }, /event/],
  ])("rejects an impossible description %o", (change, message) => {
    expect(() => buildJujuEnvironment({ ...base, ...change } as JujuEnvironmentDescription)).toThrow(message);
  });
});

describe("hookPath", () => {
  it("puts the hook tools first, then the simulator's node, then the system", () => {
    expect(hookPath("/tmp/x/bin", "/opt/node/bin/node").split(":")).toEqual([
      "/tmp/x/bin",
      "/opt/node/bin",
      "/usr/local/sbin",
      "/usr/local/bin",
      "/usr/sbin",
      "/usr/bin",
      "/sbin",
      "/bin",
    ]);
  });
});

describe("the simulator's hook environment", () => {
  it("is exactly what buildJujuEnvironment gives for the same hook, extra variables included", () => {
    const context: HookContext = {
      event: { kind: "hook", name: "refresh-v-three-relation-departed" },
      unitName: "db/1",
      appName: "db",
      unitNumber: 1,
      modelName: "prod",
      modelUuid: base.modelUuid,
      jujuVersion: "3.6.4",
      charmDir: "/var/lib/juju/agents/unit-db-1/charm",
      relation: { endpoint: "refresh-v-three", id: "refresh-v-three:0" },
      remoteUnit: "db/2",
      remoteApp: "db",
      departingUnit: "db/2",
      environment: { SNAPD_SOCKET: "/run/fake-snapd.socket" },
    };
    const expected = buildJujuEnvironment({ ...context, extra: { SNAPD_SOCKET: "/run/fake-snapd.socket" } });
    expect(buildHookEnvironment(context)).toEqual(expected);
    expect(expected).toMatchObject({ JUJU_API_ADDRESSES: "10.0.0.1:17070", JUJU_DEPARTING_UNIT: "db/2", SNAPD_SOCKET: "/run/fake-snapd.socket" });
  });

  it("reaches a process-mode action unchanged", () => {
    const context: HookContext = {
      event: { kind: "action", name: "resume-refresh", id: "3" },
      unitName: "db/0",
      appName: "db",
      unitNumber: 0,
      modelName: "prod",
      modelUuid: base.modelUuid,
      jujuVersion: "3.6.4",
      charmDir: "/var/lib/juju/agents/unit-db-0/charm",
      relation: undefined,
      remoteUnit: undefined,
      remoteApp: undefined,
      departingUnit: undefined,
      environment: {},
    };
    expect(buildHookEnvironment(context)).toEqual(buildJujuEnvironment(context));
  });
});
