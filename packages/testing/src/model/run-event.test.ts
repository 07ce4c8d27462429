import type { CharmHandler } from "@refresh/juju";
import { describe, expect, it } from "vitest";
import { charm } from "./fixtures.test-helpers.js";
import { runEvent } from "./run-event.js";

const RELATION = "refresh-v-three:0";

describe("runEvent", () => {
  const handler: CharmHandler = async ({ context, tools }) => {
    if (context.event.kind === "action") {
      await tools.actionSet({ seen: String((await tools.actionGet())["check-health-of-refreshed-units"]) });
      return;
    }
    const peer = await tools.relationGet(RELATION, { unit: "db/1" });
    await tools.relationSet(RELATION, { copy: peer["v"] ?? "none" });
    if (await tools.isLeader()) await tools.relationSet(RELATION, { leader: "db/0" }, { app: true });
    await tools.statusSet({ status: "active", message: `replicas ${String((await tools.configGet())["replicas"])}` });
    if (context.event.name === "update-status") throw new Error("boom");
  };

  it("returns the new state with committed writes, statuses and tool-call counts", async () => {
    const result = await runEvent({ charm: charm(1, handler), event: { hook: "config-changed" }, state: { leader: true, peers: { "db/1": { v: "7" } }, config: { replicas: 2 } } });
    expect(result.error).toBeUndefined();
    expect(result.state).toMatchObject({ unitData: { copy: "7" }, appData: { leader: "db/0" }, unitStatus: { status: "active", message: "replicas 2" } });
    expect(result.toolCalls).toMatchObject({ "relation-get": 1, "relation-set": 2, "is-leader": 1 });
  });

  it("drops buffered writes but keeps the status when the handler throws", async () => {
    const result = await runEvent({ charm: charm(1, handler), event: { hook: "update-status" }, state: { peers: { "db/1": { v: "7" } } } });
    expect(result.error).toBeInstanceOf(Error);
    expect(result.state.unitData).toEqual({});
    expect(result.state.unitStatus).toEqual({ status: "active", message: "replicas 1" });
  });

  it("runs actions with validated parameters and defaults", async () => {
    const result = await runEvent({ charm: charm(1, handler), event: { action: "resume-refresh" } });
    expect(result.action).toMatchObject({ status: "completed", results: { seen: "true" } });
    await expect(runEvent({ charm: charm(1, handler), event: { action: "resume-refresh", params: { x: 1 } } })).rejects.toThrow(/x: not a parameter/);
  });
});
