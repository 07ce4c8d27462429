import { fileURLToPath } from "node:url";
import { buildRevisions, loadCharmApp } from "./charm-app.js";
import type { Io } from "./cli.js";
import { palette, renderStatus, useColour } from "./render.js";
import type { Step } from "./scenario.js";
import { describeStep } from "./scenario.js";
import { SimWorld } from "./world.js";

type Substrate = "kubernetes" | "machines";

/** The sample apps sit next to refresh-sim (this file runs from src/ or from the dist/ bundle). */
function sampleAppDir(substrate: Substrate): string {
  return fileURLToPath(new URL(substrate === "kubernetes" ? "../../sample-k8s" : "../../sample-machines", import.meta.url));
}

interface DemoStep {
  readonly steps: readonly Step[];
  /** One line for both substrates, or one each where they behave differently. */
  readonly explanation: string | Readonly<Record<Substrate, string>>;
}

const settle: Step = { kind: "settle", value: {} };

const DEMO: readonly DemoStep[] = [
  {
    steps: [{ kind: "refresh", value: { to: "v2" } }, settle],
    explanation:
      "The highest unit refreshed to v2 first and runs Sample DB 1.1; the refresh then paused (pause-after-unit-refresh=first) so you can check it before the others follow.",
  },
  {
    steps: [{ kind: "action", value: { unit: "next", name: "resume-refresh" } }, settle],
    explanation: "resume-refresh on the unit the app status named: the other units refreshed one at a time, each after the previous one was healthy.",
  },
  {
    steps: [{ kind: "refresh", value: { to: "v3" } }, settle],
    explanation:
      "v3 is a new major version: the refresh found it incompatible, so no unit runs Sample DB 2.0 and the units still on v2 keep serving. Roll back, or force it with force-refresh-start.",
  },
  {
    steps: [{ kind: "refresh", value: { to: "v2" } }, settle],
    explanation: {
      kubernetes:
        "Rolled back half way with `juju refresh --revision v2`: the unit that had moved runs v2 and Sample DB 1.1 again, and the others never stopped serving (the rollback is a rolling restart that pauses like any refresh).",
      machines:
        "Rolled back half way with `juju refresh --revision v2`: Juju had swapped every unit's charm code to v3 but no snap was refreshed, so the charm code is v2 again and Sample DB 1.1 never stopped.",
    },
  },
];

/** `refresh-sim demo`: a sample charm deployed, refreshed, resumed, refreshed again and rolled back. */
export async function runDemo(substrate: Substrate, io: Io): Promise<number> {
  const colours = palette(useColour(io.stdout, io.environment));
  const app = await loadCharmApp(sampleAppDir(substrate));
  const revisions = await buildRevisions(app, { onBuild: (message) => io.stderr.write(`${message}\n`) });
  const world = await SimWorld.start(app, revisions, { seed: 1, units: 3, config: {} });
  const show = (title: string, explanation: string): void => {
    io.stdout.write(`\n${colours.bold(title)}\n${colours.dim(explanation)}\n\n${renderStatus(app.name, world.snapshot(), colours)}\n`);
  };
  try {
    io.stdout.write(`refresh-sim demo: ${app.name} on a simulated ${substrate === "kubernetes" ? "Kubernetes" : "machine"} model, every hook a real charm process\n`);
    await world.settleDeployment();
    show(`$ juju deploy ${app.name} -n 3   (revision v1)`, "Three units run Sample DB 1.0; no refresh is in progress.");
    let index = 0;
    for (const part of DEMO) {
      for (const step of part.steps) {
        const result = await world.apply(step, index);
        index += 1;
        if (result !== null && "failure" in result) io.stdout.write(colours.status("error", `step failed: ${result.failure}\n`));
      }
      const command = part.steps[0] === undefined ? "" : describeStep(part.steps[0]).replace("<next>", "<unit named by the app status>");
      show(`$ ${command}`, typeof part.explanation === "string" ? part.explanation : part.explanation[substrate]);
    }
    if (world.violations.length === 0) {
      io.stdout.write(`\n${colours.status("active", "No invariant was violated.")} Rehearse your own: pnpm refresh-sim run apps/${app.dir.split("/").pop() ?? ""}/scenarios/<file>.yaml\n`);
      return 0;
    }
    for (const violation of world.violations) io.stdout.write(colours.status("blocked", `violation (${violation.invariant}): ${violation.explanation}\n`));
    return 1;
  } finally {
    await world.dispose();
  }
}
