/**
 * Command-line parsing with the rules of Go's `gnuflag`, which every Juju hook tool uses:
 * `-name` and `--name` are the same flag, values come as `--name=value` or as the next
 * argument, flags and positionals may be interleaved, and `--` ends the flags.
 */

import { TestingError } from "../errors.js";

/** How one flag is declared: its spellings (without dashes) and whether it takes a value. */
export interface FlagSpec {
  /** e.g. `["r", "relation"]`; the first name is the key in {@link ParsedCommandLine.flags}. */
  readonly names: readonly string[];
  readonly kind: "bool" | "value";
}

/** The result of parsing: flag values under their first declared name, and positionals. */
export interface ParsedCommandLine {
  readonly flags: ReadonlyMap<string, { readonly value: string | boolean; readonly spelled: string }>;
  readonly positionals: readonly string[];
}

/** The stable codes a {@link UsageError} carries. */
export type UsageErrorCode =
  | "HOOK_TOOL_BAD_FLAG_SYNTAX"
  | "HOOK_TOOL_UNKNOWN_FLAG"
  | "HOOK_TOOL_FLAG_NEEDS_VALUE"
  | "HOOK_TOOL_INVALID_FLAG_VALUE"
  | "HOOK_TOOL_UNEXPECTED_ARGS"
  | "HOOK_TOOL_MISSING_ARGUMENT"
  | "HOOK_TOOL_INVALID_ARGUMENT";

/**
 * A flag or argument error. Juju reports these during `Init`, before the tool runs, and
 * exits with status 2 rather than 1. The message is Juju's own wording, word for word,
 * because the charm sees it on stderr and may classify it; `code` says the same for code.
 */
export class UsageError extends TestingError {
  declare readonly code: UsageErrorCode;
  readonly exitCode = 2;

  constructor(code: UsageErrorCode, message: string) {
    super(code, message);
  }
}

/** Go's `strconv.ParseBool`, which gnuflag uses for `--flag=value` on boolean flags. */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(text)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(text)) return false;
  return undefined;
}

/** Parses `args` against `specs`; throws {@link UsageError} the way gnuflag would fail. */
export function parseCommandLine(args: readonly string[], specs: readonly FlagSpec[]): ParsedCommandLine {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) for (const name of spec.names) byName.set(name, spec);
  const flags = new Map<string, { value: string | boolean; spelled: string }>();
  const positionals: string[] = [];

  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const dashes = arg.startsWith("--") ? 2 : 1;
    const body = arg.slice(dashes);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) {
      throw new UsageError("HOOK_TOOL_BAD_FLAG_SYNTAX", `bad flag syntax: ${arg}`);
    }
    const equals = body.indexOf("=");
    const name = equals === -1 ? body : body.slice(0, equals);
    const spelled = arg.slice(0, dashes) + name;
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError("HOOK_TOOL_UNKNOWN_FLAG", `flag provided but not defined: ${spelled}`);
    const key = spec.names[0] as string;
    if (spec.kind === "bool") {
      if (equals === -1) {
        flags.set(key, { value: true, spelled });
        continue;
      }
      const text = body.slice(equals + 1);
      const value = parseGoBool(text);
      if (value === undefined) throw new UsageError("HOOK_TOOL_INVALID_FLAG_VALUE", `invalid value ${JSON.stringify(text)} for flag ${spelled}: parse error`);
      flags.set(key, { value, spelled });
      continue;
    }
    if (equals !== -1) {
      flags.set(key, { value: body.slice(equals + 1), spelled });
      continue;
    }
    // gnuflag takes the next argument as the value even when it starts with a dash.
    const next = args[i + 1];
    if (next === undefined) throw new UsageError("HOOK_TOOL_FLAG_NEEDS_VALUE", `flag needs an argument: ${spelled}`);
    flags.set(key, { value: next, spelled });
    i++;
  }
  return { flags, positionals };
}

/** Go's `%q` of a string slice, as Juju prints leftover arguments: `["a" "b"]`. */
export function quoteArgs(args: readonly string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(" ")}]`;
}

/** Juju's `cmd.CheckEmpty`: rejects arguments a tool does not take. */
export function rejectExtraArgs(args: readonly string[]): void {
  if (args.length > 0) throw new UsageError("HOOK_TOOL_UNEXPECTED_ARGS", `unrecognized args: ${quoteArgs(args)}`);
}
