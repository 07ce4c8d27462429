import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { CharmHandler } from "@refresh/juju";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { SimulatorError } from "./errors.js";

/**
 * One revision of a charm as the simulator deploys it. Give the charm's files either as a map
 * (path → content) or as a directory to copy, and its code either as an in-process `handler`
 * or as a `dispatch` executable (process mode).
 */
export interface CharmRevision {
  /** Charmhub revision number; `.juju-charm` ends in `-<revision>`. */
  readonly revision: number;
  /** Files of the packed charm (path relative to the charm root → content), e.g. `metadata.yaml`, `refresh_versions.toml`. */
  readonly files?: Readonly<Record<string, string>>;
  /** A directory holding the packed charm's files; copied into each unit's charm directory. */
  readonly dir?: string;
  /** In-process charm code: called once per event. */
  readonly handler?: CharmHandler;
  /** Process mode: the executable run for every event, relative to the charm root (usually `dispatch`) or absolute. */
  readonly dispatch?: string;
  /** Workload image this revision pins on Kubernetes (`<name>@sha256:<digest>`); defaults to one derived from the revision. */
  readonly image?: string;
}

/** A config option declared by the charm (`config.yaml` / `charmcraft.yaml` `config.options`). */
export interface ConfigOption {
  readonly type: "string" | "int" | "float" | "boolean" | "secret";
  readonly default?: string | number | boolean | undefined;
  readonly description?: string | undefined;
}

/** An action declared by the charm (`actions.yaml` / `charmcraft.yaml` `actions`). */
export interface ActionSpec {
  readonly params: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly required: readonly string[];
  readonly additionalProperties: boolean;
}

/** What the simulator needs to know from a charm's metadata files. */
export interface CharmMetadata {
  readonly name: string | undefined;
  readonly config: Readonly<Record<string, ConfigOption>>;
  readonly actions: Readonly<Record<string, ActionSpec>>;
  readonly peers: readonly string[];
  readonly containers: readonly string[];
  /** Resources the charm declares (`file` or `oci-image`), with a file resource's file name. */
  readonly resources?: Readonly<Record<string, { readonly type: string; readonly filename: string | undefined }>>;
}

/** The files of a charm revision plus what its metadata declares. */
export interface LoadedCharm {
  readonly source: CharmRevision;
  readonly files: Readonly<Record<string, string>>;
  readonly metadata: CharmMetadata;
}

const optionSchema = z.object({
  type: z.enum(["string", "int", "float", "boolean", "secret"]).default("string"),
  default: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  description: z.string().optional(),
});
const actionSchema = z
  .object({
    params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    required: z.array(z.string()).default([]),
    additionalProperties: z.boolean().default(true),
  })
  .passthrough();
const metadataSchema = z
  .object({
    name: z.string().optional(),
    peers: z.record(z.string(), z.unknown()).optional(),
    containers: z.record(z.string(), z.unknown()).optional(),
    resources: z.record(z.string(), z.object({ type: z.string().default("file"), filename: z.string().optional() }).passthrough()).optional(),
    config: z.object({ options: z.record(z.string(), optionSchema).default({}) }).optional(),
    options: z.record(z.string(), optionSchema).optional(),
    actions: z.record(z.string(), z.union([actionSchema, z.null()])).optional(),
  })
  .passthrough();

function parseYamlFile(path: string, text: string | undefined): z.infer<typeof metadataSchema> {
  if (text === undefined) return {};
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new SimulatorError("CHARM_FILE_INVALID", `${path} is not valid YAML; fix the charm's files`, { cause: error });
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new SimulatorError("CHARM_FILE_INVALID", `${path} does not look like charm metadata (${problems}); fix the charm's files`);
  }
  return parsed.data;
}

/**
 * Reads what the simulator enforces from a charm's files. Packed charms carry
 * `metadata.yaml`, `config.yaml` and `actions.yaml`; a bare `charmcraft.yaml` with the unified
 * sections works too (the packed files win when both exist, as in a real `.charm`).
 */
export function parseCharmMetadata(files: Readonly<Record<string, string>>): CharmMetadata {
  const charmcraft = parseYamlFile("charmcraft.yaml", files["charmcraft.yaml"]);
  const metadata = parseYamlFile("metadata.yaml", files["metadata.yaml"]);
  const configFile = parseYamlFile("config.yaml", files["config.yaml"]);
  let actionsFile: z.infer<typeof metadataSchema>["actions"];
  if (files["actions.yaml"] !== undefined) {
    const raw = parseYamlFile("actions.yaml", `actions:\n${indent(files["actions.yaml"])}`);
    actionsFile = raw.actions;
  }
  const options = configFile.options ?? charmcraft.config?.options ?? {};
  const config: Record<string, ConfigOption> = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = { type: option.type, default: option.default ?? undefined, description: option.description };
  }
  const actions: Record<string, ActionSpec> = {};
  for (const [name, spec] of Object.entries(actionsFile ?? charmcraft.actions ?? {})) {
    actions[name] = {
      params: spec?.params ?? {},
      required: spec?.required ?? [],
      additionalProperties: spec?.additionalProperties ?? true,
    };
  }
  return {
    name: metadata.name ?? charmcraft.name,
    config,
    actions,
    peers: Object.keys(metadata.peers ?? charmcraft.peers ?? {}),
    containers: Object.keys(metadata.containers ?? charmcraft.containers ?? {}),
    resources: Object.fromEntries(
      Object.entries(metadata.resources ?? charmcraft.resources ?? {}).map(([name, resource]) => [name, { type: resource.type, filename: resource.filename }]),
    ),
  };
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

async function readTree(root: string, dir = root, into: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await readTree(root, path, into);
    else if (entry.isFile()) into[relative(root, path)] = await readFile(path, "utf8");
  }
  return into;
}

/** Loads a charm revision's files (from the map or the directory) and parses its metadata. */
export async function loadCharm(source: CharmRevision): Promise<LoadedCharm> {
  if (source.files === undefined && source.dir === undefined) {
    throw new SimulatorError("CHARM_WITHOUT_FILES", `charm revision ${source.revision} has neither files nor dir; give one of them`);
  }
  if (source.handler === undefined && source.dispatch === undefined) {
    throw new SimulatorError("CHARM_WITHOUT_CODE", `charm revision ${source.revision} has neither a handler nor a dispatch path; give one of them`);
  }
  const files = { ...(source.dir === undefined ? {} : await readTree(source.dir)), ...(source.files ?? {}) };
  return { source, files, metadata: parseCharmMetadata(files) };
}

/** The `.juju-charm` line Juju writes into a unit's charm directory. */
export function jujuCharmUrl(appName: string, revision: number, origin: "charmhub" | "local"): string {
  return origin === "charmhub" ? `ch:amd64/jammy/${appName}-${revision}` : `local:jammy/${appName}-${revision}`;
}

/**
 * Applies `juju config` semantics to one value: typed values pass through when they match the
 * option's type; strings (as typed on the command line) are converted. Throws with the option's
 * name when the value does not fit.
 */
export function coerceConfigValue(name: string, option: ConfigOption | undefined, value: string | number | boolean): string | number | boolean {
  if (option === undefined) {
    throw new SimulatorError("CONFIG_UNKNOWN_OPTION", `config option "${name}" is not declared by the charm; declare it in config.yaml or fix the test`);
  }
  const fail = (): never => {
    throw new SimulatorError("CONFIG_INVALID_VALUE", `config option "${name}" expects a ${option.type}, got ${JSON.stringify(value)}; pass a valid value`);
  };
  switch (option.type) {
    case "string":
    case "secret":
      return typeof value === "string" ? value : fail();
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "false") return value === "true";
      return fail();
    case "int": {
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof number === "number" && Number.isInteger(number) ? number : fail();
    }
    case "float": {
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof number === "number" && Number.isFinite(number) ? number : fail();
    }
  }
}

const jsonTypeCheck: Record<string, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string",
  integer: (value) => typeof value === "number" && Number.isInteger(value),
  number: (value) => typeof value === "number" && Number.isFinite(value),
  boolean: (value) => typeof value === "boolean",
  array: (value) => Array.isArray(value),
  object: (value) => typeof value === "object" && value !== null && !Array.isArray(value),
};

/**
 * What Juju does before an action reaches the charm: checks the parameters against the
 * action's schema (types, enums, required keys, unknown keys) and fills in defaults.
 * Returns the parameters the charm will see, or every problem found.
 */
export function validateActionParams(
  actionName: string,
  spec: ActionSpec,
  params: Readonly<Record<string, unknown>>,
): { ok: true; params: Record<string, unknown> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const schema = spec.params[key];
    if (schema === undefined) {
      if (!spec.additionalProperties) problems.push(`${key}: not a parameter of action "${actionName}"`);
      else result[key] = value;
      continue;
    }
    const type = schema["type"];
    const check = typeof type === "string" ? jsonTypeCheck[type] : undefined;
    if (check !== undefined && !check(value)) problems.push(`${key}: expected ${String(type)}, got ${JSON.stringify(value)}`);
    const allowed = schema["enum"];
    if (Array.isArray(allowed) && !allowed.includes(value)) problems.push(`${key}: must be one of ${JSON.stringify(allowed)}`);
    result[key] = value;
  }
  for (const [key, schema] of Object.entries(spec.params)) {
    if (key in result) continue;
    if ("default" in schema) result[key] = schema["default"];
    else if (spec.required.includes(key)) problems.push(`${key}: required by action "${actionName}"`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, params: result };
}
