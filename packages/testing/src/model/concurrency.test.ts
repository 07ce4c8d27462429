import type { CharmHandler } from "@refresh/juju";
import { describe, expect, it } from "vitest";
import { charm, simulatorsDisposedAfterEach } from "./fixtures.test-helpers.js";
import type { Simulator } from "./simulator.js";

const RELATION = "refresh-v-three:0";
const make = simulatorsDisposedAfterEach();

/** Reads every peer's databag, the config and leadership at once, then records what it saw. */
const concurrentReader: CharmHandler = async ({ context, tools }) => {
  if (context.event.name === "install") return;
  const peers = (await tools.relationIds("refresh-v-three")).length === 0 ? [] : await tools.relationList(RELATION);
  const [leader, config, ...bags] = await Promise.all([
    tools.isLeader(),
    tools.configGet(),
    ...peers.map((peer) => tools.relationGet(RELATION, { unit: peer })),
    tools.statusGet(),
  ]);
  const seen = bags.slice(0, peers.length).filter((bag) => "seen" in bag).length;
  await tools.relationSet(RELATION, { seen: `${context.event.name}:${String(leader)}:${String(config["replicas"])}:${seen}` });
};

async function historyOf(seed: number): Promise<string[]> {
  const sim = await make({ charms: [charm(1, concurrentReader)], seed, hookTimeoutMs: 2000 });
  await sim.deploy({ units: 3 });
  await sim.settle();
  return sim.history.map((record) => `${record.unit} ${record.hook} ${record.outcome} ${JSON.stringify(record.toolCalls)}`);
}

describe("concurrent calls from one hook", () => {
  it("answers several tool calls a hook awaits together, counting each", async () => {
    const sim = await make({ charms: [charm(1, concurrentReader)], hookTimeoutMs: 2000 });
    await sim.deploy({ units: 3 });
    await sim.settle();
    expect(sim.history.every((record) => record.outcome === "succeeded")).toBe(true);
    const changed = sim.history.filter((record) => record.hook === "refresh-v-three-relation-changed");
    expect(changed.length).toBeGreaterThan(0);
    // Two peers by then: is-leader, config-get, two relation-gets and status-get in one batch.
    expect(changed.at(-1)?.toolCalls).toMatchObject({ "is-leader": 1, "config-get": 1, "relation-get": 2, "status-get": 1 });
    for (const unit of sim.units) expect(sim.unitData(unit)["seen"]).toMatch(/^refresh-v-three-relation-changed:(true|false):1:\d$/);
  });

  it("replays the same run for the same seed, in interleaved mode", async () => {
    for (const seed of [1, 2, 3]) expect(await historyOf(seed)).toEqual(await historyOf(seed));
  });

  it("makes each waiting call of a hook its own scheduling step", async () => {
    const model: { sim?: Simulator } = {};
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name !== "update-status") return;
      // Two tool calls and a request to a fake server, all outstanding together.
      await Promise.all([tools.isLeader(), tools.configGet(), model.sim?.requestYieldPoint(context.unitName)]);
    };
    const sim = await make({ charms: [charm(1, handler)], concurrency: "serial", hookTimeoutMs: 2000 });
    model.sim = sim;
    await sim.deploy({ units: 1 });
    await sim.settle();
    sim.fireUpdateStatus();
    const before = sim.history.length;
    let steps = 0;
    while (await sim.step()) steps += 1;
    expect(sim.history.slice(before).map((record) => record.hook)).toEqual(["update-status"]);
    // One step starts the hook, one releases each of its three waiting calls.
    expect(steps).toBe(4);
  });
});

describe("requests named after a unit", () => {
  it("park only that unit's hook, and wait for nobody when it runs none", async () => {
    const model: { sim?: Simulator; leftAlone?: boolean } = {};
    const handler: CharmHandler = async ({ context, tools }) => {
      if (context.event.name !== "update-status" || context.unitName !== "db/0") return;
      await tools.isLeader();
      // While db/0's hook runs, a request on behalf of db/1 (which runs nothing) passes at once.
      let passed = false;
      const request = model.sim?.requestYieldPoint("db/1").then(() => {
        passed = true;
      });
      await Promise.resolve();
      await Promise.resolve();
      model.leftAlone = passed;
      await request;
    };
    const sim = await make({ charms: [charm(1, handler)], concurrency: "serial", hookTimeoutMs: 2000 });
    model.sim = sim;
    await sim.deploy({ units: 2 });
    await sim.settle();
    sim.fireUpdateStatus();
    await sim.settle();
    expect(model.leftAlone).toBe(true);
  });
});
