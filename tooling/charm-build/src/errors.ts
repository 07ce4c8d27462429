import { RefreshError } from "@refresh/core";

/**
 * A build problem the charm author can fix; the message says how. `code` is a stable
 * identifier of the kind of problem, e.g. `MISSING_CHARM_FILE`; `USAGE` makes the CLI exit 2.
 */
export class CharmBuildError extends RefreshError {}
