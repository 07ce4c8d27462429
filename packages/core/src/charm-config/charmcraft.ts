import { Document, isMap, isScalar, parseDocument, visit, type Node } from "yaml";
import { CharmcraftYamlInvalid } from "../errors.js";
import { jsonEqual } from "../protocol/databag.js";
import { PEER_RELATION_INTERFACE, PEER_RELATION_NAME } from "../protocol/names.js";
import type { JsonValue } from "../protocol/python-json.js";
import { pauseConfigOptionDefinition, refreshActionDefinitions, type RefreshCharmOptions } from "./actions.js";
import { PAUSE_AFTER_UNIT_REFRESH } from "./pause.js";

/** Where in `charmcraft.yaml` each generated entry lives, and what it holds. */
function refreshEntries(options: RefreshCharmOptions): { path: string[]; value: unknown }[] {
  const actions = refreshActionDefinitions(options);
  return [
    ...Object.entries(actions).map(([name, definition]) => ({ path: ["actions", name], value: definition })),
    { path: ["config", "options", PAUSE_AFTER_UNIT_REFRESH], value: pauseConfigOptionDefinition(options) },
    { path: ["peers", PEER_RELATION_NAME, "interface"], value: PEER_RELATION_INTERFACE },
  ];
}

/**
 * The `actions`, `config` and `peers` entries the refresh needs, as a `charmcraft.yaml`
 * fragment: for charm authors who prefer to paste them in by hand.
 */
export function renderCharmcraftRefreshSections(options: RefreshCharmOptions): string {
  const document = new Document({});
  for (const entry of refreshEntries(options)) document.setIn(entry.path, generatedNode(document, entry.value));
  return document.toString();
}

/**
 * Adds or updates the refresh entries in the text of a charm's `charmcraft.yaml`: the three
 * actions, the `pause-after-unit-refresh` option and the `refresh-v-three` peer relation.
 * Everything else (other keys, other actions and options, comments, key order) is kept; an
 * entry that already holds the generated value is not touched, and when nothing changes the
 * text is returned as it was, so running it on every build causes no churn.
 * Throws {@link CharmcraftYamlInvalid} when the text is not YAML, or when a section the
 * entries go into is not a mapping.
 */
export function updateCharmcraftYaml(text: string, options: RefreshCharmOptions): string {
  // Widened from Document.Parsed: generated nodes are not "parsed" ones.
  const document: Document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new CharmcraftYamlInvalid(`it is not valid YAML (${document.errors[0]?.message ?? "parse error"})`);
  }
  if (document.contents === null || isEmptyScalar(document.contents)) {
    document.contents = document.createNode({});
  }
  if (!isMap(document.contents)) throw new CharmcraftYamlInvalid("its top level is not a mapping");

  let changed = false;
  for (const entry of refreshEntries(options)) {
    const current = document.getIn(entry.path, true) as Node | undefined;
    // Compared as data, so a file whose keys are in another order than ours is left alone.
    if (current !== undefined && jsonEqual(current.toJSON() as JsonValue, entry.value as JsonValue)) continue;
    prepareParents(document, entry.path);
    document.setIn(entry.path, generatedNode(document, entry.value));
    changed = true;
  }
  return changed ? document.toString() : text;
}

/** A node for generated data, with descriptions as folded blocks so long sentences stay readable. */
function generatedNode(document: Document, value: unknown): Node {
  const node = document.createNode(value);
  visit(node, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === "description" && isScalar(pair.value)) pair.value.type = "BLOCK_FOLDED";
    },
  });
  return node;
}

/** Replaces empty parents (`actions:` with nothing under it) by maps; refuses any other non-map. */
function prepareParents(document: Document, path: readonly string[]): void {
  for (let depth = 1; depth < path.length; depth++) {
    const parentPath = path.slice(0, depth);
    const parent = document.getIn(parentPath, true) as Node | undefined;
    if (parent === undefined || isMap(parent)) continue;
    if (isEmptyScalar(parent)) {
      document.setIn(parentPath, document.createNode({}));
      continue;
    }
    throw new CharmcraftYamlInvalid(`"${parentPath.join(".")}" is not a mapping`);
  }
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && (node.value === null || node.value === "");
}
