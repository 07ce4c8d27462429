import type * as z from "zod/mini";
import { en } from "zod/locales";

/**
 * Parse options that give zod's issues English messages. This package validates with
 * `zod/mini`, which ships no locale (every built-in issue would read "Invalid input"); the
 * locale is passed per call so that a charm's own zod configuration is neither changed nor
 * relied upon. `@refresh/core` has the same options as `englishIssues`; this package depends
 * on nothing of ours, hence its own copy.
 */
export const englishIssues: z.core.ParseContext<z.core.$ZodIssue> = /* @__PURE__ */ Object.freeze({ error: en().localeError });
