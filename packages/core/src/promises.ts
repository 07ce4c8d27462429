/**
 * The value of a settled promise, or its rejection reason rethrown unchanged.
 *
 * For reads started together with `Promise.allSettled` so that they overlap, then consumed one
 * by one: the first failure in consumption order is the one thrown, which keeps error reporting
 * deterministic however the reads happened to finish.
 *
 * Internal to the refresh packages (shared by the substrates, which may not import each other);
 * exported only because packages can share code through `@refresh/core` alone.
 *
 * @internal
 * @example
 * const [leader, config] = await Promise.allSettled([tools.isLeader(), tools.configGet()]);
 * const isLeader = settledValue(leader); // throws the isLeader error, if it failed
 */
export function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

/**
 * `promise`'s outcome as a promise that never rejects: for a step started early and consumed
 * later with {@link settledValue}, so that a failure meanwhile is never an unhandled rejection.
 *
 * @internal
 */
export function settled<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

/**
 * Runs `body` while `step` (already started) goes on: `body` gets the step's outcome to
 * consume with {@link settledValue} where it must have ended, and `alongside` returns only once
 * the step has ended too, whatever `body` did, so no process it started outlives the event.
 * A failure of `body` is the one reported; the step's is reported only where `body` consumed it.
 *
 * @internal
 */
export async function alongside<T>(step: Promise<T>, body: (outcome: Promise<PromiseSettledResult<T>>) => Promise<void>): Promise<void> {
  const outcome = settled(step);
  try {
    await body(outcome);
  } finally {
    await outcome;
  }
}
