import type * as z from "zod/mini";
import { en } from "zod/locales";

/**
 * Parse options that give zod's issues English messages ("Invalid input: expected string,
 * received number"). The library validates with `zod/mini`, which ships no locale: without
 * these options every built-in issue reads "Invalid input". Passed per call rather than set
 * with `z.config`, so that a charm's own zod configuration is neither changed nor relied upon.
 *
 * @example z.safeParse(schema, data, englishIssues)
 */
export const englishIssues: z.core.ParseContext<z.core.$ZodIssue> = /* @__PURE__ */ Object.freeze({ error: en().localeError });

/**
 * A zod issue as one line of a problem list: `path: message`, the path being the keys joined
 * with dots, or the message alone when the issue is about the whole value.
 *
 * Internal to `@refresh/core` (shared by its validators); exported with the module only.
 *
 * @internal
 */
export function issueProblem(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join(".");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}
