import type { CharmHandler } from "@refresh/juju";
import { afterEach } from "vitest";
import type { CharmRevision } from "./charm.js";
import type { SimulatorOptions } from "./simulator.js";
import type { Simulator } from "./simulator.js";
import { createSimulator } from "./simulator.js";

/** Charm files shared by the simulator's own tests. */
export const CHARM_FILES: Record<string, string> = {
  "metadata.yaml": "name: db\npeers:\n  refresh-v-three:\n    interface: refresh\n",
  "config.yaml": [
    "options:",
    "  pause-after-unit-refresh:",
    "    type: string",
    "    default: first",
    "  replicas:",
    "    type: int",
    "    default: 1",
    "  note:",
    "    type: string",
  ].join("\n"),
  "actions.yaml": [
    "resume-refresh:",
    "  params:",
    "    check-health-of-refreshed-units:",
    "      type: boolean",
    "      default: true",
    "  additionalProperties: false",
    "echo:",
    "  params:",
    "    text:",
    "      type: string",
    "  required: [text]",
  ].join("\n"),
  "refresh_versions.toml": 'charm = "14/1.0.0"\nworkload = "14.9"\n',
};

/** A charm revision whose code is `handler`. */
export function charm(revision: number, handler: CharmHandler, extra: Partial<CharmRevision> = {}): CharmRevision {
  return { revision, files: CHARM_FILES, handler, ...extra };
}

/** A charm that does nothing. */
export const idle: CharmHandler = async () => {};

/** Creates a simulator in a temp dir; the caller disposes it. */
export async function simulator(options: Partial<SimulatorOptions> & Pick<SimulatorOptions, "charms">): Promise<Simulator> {
  return createSimulator({ substrate: "kubernetes", seed: 7, ...options });
}

/**
 * The simulator factory of one test file: every simulator it creates is disposed after each
 * test, pass or fail, so no temp directory or server outlives the test that made it.
 * Call it once at the top level of the file.
 */
export function simulatorsDisposedAfterEach(): typeof simulator {
  const created: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((sim) => sim.dispose()));
  });
  return async (options) => {
    const sim = await simulator(options);
    created.push(sim);
    return sim;
  };
}
