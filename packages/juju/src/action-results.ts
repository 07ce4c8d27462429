import { InvalidActionResultKey } from "./errors.js";

/** One dot-separated segment of an `action-set` key, as Juju accepts it. */
const KEY_SEGMENT = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Keys Juju fills in itself from the action's output; a charm may not set them. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(["stdout", "stdout-encoding", "stderr", "stderr-encoding"]);

/**
 * Checks `action-set` keys the way Juju will, before anything is spawned, so a bad key
 * fails with a message naming it instead of an opaque agent error. Also rejects a key that
 * is both a value and a parent of another key (`a=1` with `a.b=2`), which Juju cannot
 * represent.
 *
 * @throws InvalidActionResultKey for the first offending key.
 */
export function validateActionResultKeys(keys: Iterable<string>): void {
  const leaves = new Set<string>();
  const parents = new Set<string>();
  for (const key of keys) {
    const segments = key.split(".");
    for (const segment of segments) {
      if (!KEY_SEGMENT.test(segment)) {
        throw new InvalidActionResultKey(
          key,
          segment === "" ? "has an empty segment (a leading, trailing or doubled dot)" : `has the segment ${JSON.stringify(segment)}, which Juju rejects`,
        );
      }
    }
    const top = segments[0] ?? "";
    if (RESERVED_KEYS.has(top)) {
      throw new InvalidActionResultKey(key, `uses "${top}", which Juju reserves for the action's own output`);
    }
    for (let i = 1; i < segments.length; i++) parents.add(segments.slice(0, i).join("."));
    leaves.add(key);
  }
  for (const leaf of leaves) {
    if (parents.has(leaf)) {
      throw new InvalidActionResultKey(leaf, "is set to a value and also used as the parent of a nested key");
    }
  }
}
