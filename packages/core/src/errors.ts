/**
 * Every error this library throws on purpose. `code` is stable across releases, so charms
 * and tooling can branch on it; `message` says what happened and what to do next;
 * `resolution`, when present, is the command or step that fixes it.
 */
export class RefreshError extends Error {
  /** Stable identifier of this kind of error, e.g. `PEER_RELATION_NOT_READY`. */
  readonly code: string;
  /** What the user (or charm author) should do, when that is known. */
  readonly resolution: string | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; resolution?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.resolution = options.resolution;
  }
}
