import { stringify as toYaml } from "yaml";
import { UsageError } from "./flags.js";

/** The `--format` values Juju's hook tools accept. */
export type OutputFormat = "smart" | "yaml" | "json";

/** Checks a `--format` value the way Juju's output flag does (an unknown one is a usage error). */
export function parseOutputFormat(value: string | undefined, spelled = "--format"): OutputFormat {
  if (value === undefined) return "smart";
  if (value === "smart" || value === "yaml" || value === "json") return value;
  throw new UsageError("HOOK_TOOL_INVALID_FLAG_VALUE", `invalid value ${JSON.stringify(value)} for flag ${spelled}: unknown format ${JSON.stringify(value)}`);
}

/**
 * Renders a tool's answer like Juju: JSON and YAML as such; "smart" prints strings bare,
 * booleans as Python-style `True`/`False`, lists one item per line, maps as YAML and
 * nothing at all for a null answer.
 */
export function formatOutput(value: unknown, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(value ?? null)}\n`;
  if (format === "yaml") return value === undefined || value === null ? "" : toYaml(value);
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return `${value}\n`;
  if (typeof value === "boolean") return value ? "True\n" : "False\n";
  if (typeof value === "number" || typeof value === "bigint") return `${value}\n`;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return value.map((item) => `${item}\n`).join("");
  }
  return toYaml(value);
}
