/**
 * Field schemas and descriptions more than one databag module uses. Internal: the package index
 * does not re-export this module.
 */
import * as z from "zod/mini";

// Writers never store duplicates, but a duplicate is harmless to every reader (the lists are
// used as sets), so it is tolerated rather than reported.
export const stringList = z.array(z.string());

/** How a stored charm-code refresh must look, for messages about one that does not. */
export const CHARM_CODE_REFRESH = 'an object {"charm_revision": <text>, "time_of_refresh": <seconds>}';
