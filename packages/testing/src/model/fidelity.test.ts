import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CharmHandler } from "@refresh/juju";
import { describe, expect, it } from "vitest";
import { CHARM_FILES, charm, idle, simulatorsDisposedAfterEach } from "./fixtures.test-helpers.js";
import { runEvent } from "./run-event.js";

const make = simulatorsDisposedAfterEach();

const WITH_RESOURCE = {
  ...CHARM_FILES,
  "metadata.yaml": `${CHARM_FILES["metadata.yaml"] ?? ""}resources:\n  workload-bundle:\n    type: file\n    filename: bundle.tar\n  image:\n    type: oci-image\n`,
};

/** Reports the content of the `workload-bundle` resource (or why it could not get it) as its status. */
const resourceReader: CharmHandler = async ({ context, tools }) => {
  if (context.event.name !== "start" && context.event.name !== "upgrade-charm") return;
  try {
    const path = await tools.resourceGet("workload-bundle");
    await tools.statusSet({ status: "active", message: `${path.endsWith("/bundle.tar") ? "bundle.tar" : path}: ${await readFile(path, "utf8")}` });
  } catch (error) {
    await tools.statusSet({ status: "blocked", message: error instanceof Error ? error.message : String(error) });
  }
};

describe("file resources", () => {
  it("resource-get returns a path holding the attached file, and the new one after a refresh", async () => {
    const sim = await make({ charms: [charm(1, resourceReader, { files: WITH_RESOURCE }), charm(2, resourceReader, { files: WITH_RESOURCE })], substrate: "machines" });
    await sim.deploy({ units: 2, resources: { "workload-bundle": "v1 payload" } });
    await sim.settle();
    expect(sim.unitStatus("db/0")).toEqual({ status: "active", message: "bundle.tar: v1 payload" });
    sim.refresh({ to: 2, resources: { "workload-bundle": "v2 payload" } });
    await sim.settle();
    expect(sim.units.map((unit) => sim.unitStatus(unit).message)).toEqual(["bundle.tar: v2 payload", "bundle.tar: v2 payload"]);
  });

  it("answers not found when nothing was attached", async () => {
    const sim = await make({ charms: [charm(1, resourceReader, { files: WITH_RESOURCE })] });
    await sim.deploy({ units: 1 });
    await sim.settle();
    expect(sim.unitStatus("db/0").message).toContain('resource "workload-bundle" not found');
  });

  it("refuses to attach a resource the charm does not declare as a file", async () => {
    const sim = await make({ charms: [charm(1, idle, { files: WITH_RESOURCE })] });
    await expect(sim.deploy({ resources: { image: "x" } })).rejects.toMatchObject({ code: "SIM_RESOURCE_UNKNOWN" });
  });
});

describe("actions on a dying unit", () => {
  it("runs an action queued after remove-unit, before the unit is gone", async () => {
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.kind === "action") await tools.actionSet({ echoed: String((await tools.actionGet())["text"]) });
    };
    const sim = await make({ charms: [charm(1, handler)], substrate: "machines", concurrency: "serial" });
    await sim.deploy({ units: 2 });
    await sim.settle();
    sim.removeUnit("db/1");
    const outcome = await sim.runAction("db/1", "echo", { text: "still here" });
    expect(outcome).toMatchObject({ status: "completed", results: { echoed: "still here" } });
    await sim.settle();
    expect(sim.units).toEqual(["db/0"]);
    expect(() => sim.queueAction("db/1", "echo", { text: "gone" })).toThrow(/removed/);
  });
});

describe("runEvent's charm directory", () => {
  it("holds the revision's files and .juju-charm, so library code can read them", async () => {
    let seen = "";
    const handler: CharmHandler = async ({ context }) => {
      const versions = await readFile(join(context.charmDir, "refresh_versions.toml"), "utf8");
      const marker = await readFile(join(context.charmDir, ".juju-charm"), "utf8");
      seen = `${versions.split("\n")[0] ?? ""} | ${marker.trim()}`;
    };
    const result = await runEvent({ charm: charm(12, handler), event: { hook: "update-status" } });
    expect(result.error).toBeUndefined();
    expect(seen).toBe('charm = "14/1.0.0" | ch:amd64/jammy/db-12');
  });
});
