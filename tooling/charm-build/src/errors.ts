/** A build problem the charm author can fix; the message says how. */
export class CharmBuildError extends Error {
  /** Stable identifier of this kind of problem, e.g. `MISSING_CHARM_FILE`; `USAGE` makes the CLI exit 2. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CharmBuildError";
    this.code = code;
  }
}
