import { buildRevisions, type CharmApp } from "./charm-app.js";
import type { Scenario, Step } from "./scenario.js";
import { describeStep } from "./scenario.js";
import { SimWorld, type StatusSnapshot, type StepResult, type Violation } from "./world.js";

/** One executed step in the `--json` report. */
export interface StepReport {
  /** The step as written in the scenario file. */
  readonly step: Record<string, unknown>;
  readonly result: StepResult;
  readonly status: StatusSnapshot;
}

/** What `refresh-sim run --json` prints. */
export interface RunReport {
  readonly steps: readonly StepReport[];
  readonly final: StatusSnapshot;
  readonly violations: readonly Violation[];
}

/** Hooks for showing progress while a scenario runs. */
export interface RunObserver {
  /** The charm revisions are being built (first run, or sources changed). */
  building?(message: string): void;
  /** Step `index` (0-based) of `total` starts; `-1` is the deployment. */
  stepStarted?(index: number, total: number, description: string, world: SimWorld): void;
  stepFinished?(index: number, report: StepReport, world: SimWorld): void;
}

/**
 * Builds the scenario's charm revisions (cached), deploys them and runs every step.
 * `app` is the scenario's charm app, loaded by the caller (which also needs its name).
 */
export async function runScenario(scenario: Scenario, app: CharmApp, options: { seed?: number; observer?: RunObserver } = {}): Promise<RunReport> {
  const observer = options.observer ?? {};
  const revisions = await buildRevisions(app, { onBuild: (message) => observer.building?.(message) });
  const world = await SimWorld.start(app, revisions, { seed: options.seed ?? scenario.seed, units: scenario.units, config: scenario.config });
  try {
    observer.stepStarted?.(-1, scenario.steps.length, `juju deploy ${app.name} -n ${scenario.units} (revision ${revisions[0]?.name ?? "?"})`, world);
    await world.settleDeployment();
    const reports: StepReport[] = [];
    for (const [index, step] of scenario.steps.entries()) {
      observer.stepStarted?.(index, scenario.steps.length, describeStep(step), world);
      const result = await world.apply(step, index);
      const report = { step: asWritten(step), result, status: world.snapshot() };
      reports.push(report);
      observer.stepFinished?.(index, report, world);
    }
    return { steps: reports, final: world.snapshot(), violations: [...world.violations] };
  } finally {
    await world.dispose();
  }
}

function asWritten(step: Step): Record<string, unknown> {
  return { [step.kind]: step.value };
}
