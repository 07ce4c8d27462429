import { TestingError } from "../errors.js";
import { canonicalJson } from "./cluster.js";

/** The stable codes a {@link PatchRejected} carries, one per reason a patch is refused. */
export type PatchRejectedCode =
  | "PATCH_NOT_AN_ARRAY"
  | "PATCH_NOT_AN_OBJECT"
  | "PATCH_INVALID_OPERATION"
  | "PATCH_INVALID_PATH"
  | "PATCH_PATH_MISSING"
  | "PATCH_TEST_FAILED"
  | "PATCH_UNSUPPORTED_OPERATION"
  | "PATCH_UNSUPPORTED_DIRECTIVE";

/**
 * A patch the fake API server cannot apply; `status`/`reason` and the message become the
 * Kubernetes Status object the client receives. (`code` is this library's stable code, not
 * the HTTP status.)
 */
export class PatchRejected extends TestingError {
  declare readonly code: PatchRejectedCode;

  constructor(
    code: PatchRejectedCode,
    readonly status: 400 | 409 | 422,
    readonly reason: "BadRequest" | "Conflict" | "Invalid",
    message: string,
  ) {
    super(code, message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** Keys of strategic-merge-patch directives (`$patch`, `$retainKeys`, …) anywhere in `patch`. */
export function strategicDirectives(patch: unknown, path = ""): string[] {
  if (Array.isArray(patch)) return patch.flatMap((item, index) => strategicDirectives(item, `${path}/${index}`));
  if (!isObject(patch)) return [];
  return Object.entries(patch).flatMap(([key, value]) =>
    key.startsWith("$") ? [`${path}/${key}`] : strategicDirectives(value, `${path}/${key}`),
  );
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

/**
 * RFC 6902 JSON patch restricted to objects (no array indices): `test`, `add`, `replace`,
 * `remove`. Enough for optimistic-concurrency patches of the partition.
 */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw new PatchRejected("PATCH_NOT_AN_ARRAY", 400, "BadRequest", "a JSON patch must be an array of operations");
  }
  // One clone up front is the whole copy: added values are cloned as they go in, and a
  // rejected operation throws, so the caller never sees a half-patched document.
  const document = structuredClone(target);
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation["op"] !== "string" || typeof operation["path"] !== "string") {
      throw new PatchRejected("PATCH_INVALID_OPERATION", 400, "BadRequest", "every JSON patch operation needs string fields \"op\" and \"path\"");
    }
    const { op, path } = operation as { op: string; path: string };
    if (!path.startsWith("/")) throw new PatchRejected("PATCH_INVALID_PATH", 400, "BadRequest", `JSON patch path "${path}" must start with "/"`);
    const tokens = path.slice(1).split("/").map(unescapePointer);
    const last = tokens.pop() ?? "";
    let parent: unknown = document;
    for (const token of tokens) {
      parent = isObject(parent) ? parent[token] : undefined;
    }
    if (!isObject(parent)) throw new PatchRejected("PATCH_PATH_MISSING", 422, "Invalid", `JSON patch path "${path}" does not exist`);
    switch (op) {
      case "test":
        if (canonicalJson(parent[last]) !== canonicalJson(operation["value"])) {
          throw new PatchRejected("PATCH_TEST_FAILED", 422, "Invalid", `JSON patch test failed: "${path}" is ${JSON.stringify(parent[last])}, not ${JSON.stringify(operation["value"])}`);
        }
        break;
      case "add":
      case "replace":
        if (op === "replace" && !(last in parent)) throw new PatchRejected("PATCH_PATH_MISSING", 422, "Invalid", `JSON patch cannot replace missing "${path}"`);
        parent[last] = structuredClone(operation["value"]);
        break;
      case "remove":
        if (!(last in parent)) throw new PatchRejected("PATCH_PATH_MISSING", 422, "Invalid", `JSON patch cannot remove missing "${path}"`);
        delete parent[last];
        break;
      default:
        throw new PatchRejected(
          "PATCH_UNSUPPORTED_OPERATION",
          422,
          "Invalid",
          `the fake API server does not support JSON patch operation "${op}"; use test, add, replace or remove`,
        );
    }
  }
  return document;
}

/** JSON-pointer-ish paths where `before` and `after` differ (arrays compare as a whole). */
export function changedPaths(before: unknown, after: unknown, path = ""): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => changedPaths(before[key], after[key], `${path}/${key}`));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [path === "" ? "/" : path];
}
