/** A build problem the charm author can fix; the message says how. */
export class CharmBuildError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CharmBuildError";
    this.code = code;
  }
}
