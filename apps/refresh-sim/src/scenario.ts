import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { formatIssuePath, RefreshSimError } from "./errors.js";

const unitNumber = z.number({ error: "must be a unit number, e.g. 1" }).int().nonnegative();
const configValue = z.union([z.string(), z.number(), z.boolean()], { error: "must be a string, number or boolean" });
const configMap = z.record(z.string(), configValue, { error: "must be a map of option names to values" });

/** Every step a scenario can take; exactly one key per step. */
const stepSchemas = {
  refresh: z.strictObject({
    to: z.union([z.string().min(1), z.number().int().positive()], { error: "must name a revision from revisions.yaml (e.g. v2) or give its number" }),
    resource: z.string().min(1).optional(),
  }),
  settle: z.strictObject({}),
  action: z.strictObject({
    unit: z.union([unitNumber, z.literal("leader"), z.literal("next")], { error: 'must be a unit number, "leader" or "next"' }),
    name: z.string().min(1),
    params: z.record(z.string(), z.unknown()).optional(),
  }),
  config: configMap,
  "add-unit": z.number({ error: "must be how many units to add, e.g. 1" }).int().positive(),
  "remove-unit": unitNumber,
  evict: unitNumber,
  "fail-next-hook": z.strictObject({ unit: unitNumber }),
  "workload-health": z.strictObject({ unit: unitNumber, healthy: z.boolean({ error: "must be true or false" }) }),
} as const;

/** The step kinds, as written in scenario files. */
export type StepKind = keyof typeof stepSchemas;
const STEP_KINDS = Object.keys(stepSchemas) as StepKind[];

/** One step of a scenario. */
export type Step = { [K in StepKind]: { readonly kind: K; readonly value: z.infer<(typeof stepSchemas)[K]> } }[StepKind];

const stepSchema = z.record(z.string(), z.unknown()).transform((raw, context): Step => {
  const keys = Object.keys(raw);
  const kind = keys[0];
  if (keys.length !== 1 || kind === undefined) {
    context.addIssue({ code: "custom", message: `must have exactly one key, one of ${STEP_KINDS.join(", ")}; got ${keys.length === 0 ? "none" : keys.join(", ")}` });
    return z.NEVER;
  }
  if (!(STEP_KINDS as string[]).includes(kind)) {
    context.addIssue({ code: "custom", message: `"${kind}" is not a step; use one of ${STEP_KINDS.join(", ")}` });
    return z.NEVER;
  }
  const schema = stepSchemas[kind as StepKind];
  const parsed = schema.safeParse(raw[kind]);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) context.addIssue({ code: "custom", path: [kind, ...issue.path.map((part) => (typeof part === "symbol" ? String(part) : part))], message: issue.message });
    return z.NEVER;
  }
  return { kind, value: parsed.data } as Step;
});

const scenarioSchema = z.strictObject({
  charm: z.string({ error: "must be the path to a charm app, relative to the scenario file (e.g. ..)" }).min(1),
  units: z.number({ error: "must be how many units to deploy, e.g. 3" }).int().min(1).max(20).default(3),
  config: configMap.default({}),
  seed: z.number({ error: "must be an integer seed" }).int().nonnegative().default(1),
  steps: z.array(stepSchema, { error: "must be a list of steps" }).default([]),
});

/** A parsed scenario file. `charm` is resolved to an absolute directory. */
export interface Scenario {
  readonly file: string;
  readonly charm: string;
  readonly units: number;
  readonly config: Readonly<Record<string, string | number | boolean>>;
  readonly seed: number;
  readonly steps: readonly Step[];
}

/**
 * Parses scenario text. Throws a {@link RefreshSimError} with exit code 2 naming every bad
 * field and what is allowed there.
 */
export function parseScenario(text: string, file: string): Scenario {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new RefreshSimError("INVALID_SCENARIO", `${file} is not valid YAML: ${(cause as Error).message}`, 2, { cause });
  }
  const parsed = scenarioSchema.safeParse(document ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${formatIssuePath(issue.path)}: ${issue.message}`);
    throw new RefreshSimError("INVALID_SCENARIO", `${file} is not a valid scenario:\n${problems.join("\n")}`, 2);
  }
  const { charm, units, config, seed, steps } = parsed.data;
  return { file, charm: resolve(dirname(file), charm), units, config, seed, steps };
}

/** Reads and parses a scenario file (see {@link parseScenario}). */
export async function loadScenario(path: string): Promise<Scenario> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new RefreshSimError("SCENARIO_NOT_FOUND", `cannot read scenario file ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, 2, { cause });
  }
  return parseScenario(text, file);
}

/** A one-line description of a step, for progress lines and the demo. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case "refresh":
      return `juju refresh --revision ${step.value.to}${step.value.resource === undefined ? "" : ` --resource ${step.value.resource}`}`;
    case "settle":
      return "settle (run hooks until the model is quiet)";
    case "action":
      return `juju run <${String(step.value.unit)}> ${step.value.name}${Object.entries(step.value.params ?? {}).map(([key, value]) => ` ${key}=${String(value)}`).join("")}`;
    case "config":
      return `juju config ${Object.entries(step.value).map(([key, value]) => `${key}=${String(value)}`).join(" ")}`;
    case "add-unit":
      return `juju add-unit -n ${step.value}`;
    case "remove-unit":
      return `juju remove-unit <${step.value}>`;
    case "evict":
      return `evict pod of unit ${step.value}`;
    case "fail-next-hook":
      return `make the next hook of unit ${step.value.unit} fail`;
    case "workload-health":
      return `mark the workload of unit ${step.value.unit} ${step.value.healthy ? "healthy" : "unhealthy"}`;
  }
}
