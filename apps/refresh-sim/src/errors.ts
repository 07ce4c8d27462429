/**
 * Something refresh-sim was asked to do cannot be done: a bad scenario file, a charm app it
 * cannot build. `exitCode` is what the command exits with (2: the input is invalid).
 */
export class RefreshSimError extends Error {
  constructor(
    /** Stable, UPPER_SNAKE. */
    readonly code: string,
    message: string,
    /** Exit status of the command. */
    readonly exitCode: number = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RefreshSimError";
  }
}

/** Formats a zod issue path like `steps[2].action.unit`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text === "" ? "(top level)" : text;
}
