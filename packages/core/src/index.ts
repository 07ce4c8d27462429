export * from "./common.js";
export * from "./errors.js";
export * from "./status.js";
export * from "./protocol/names.js";
export * from "./protocol/python-json.js";
export * from "./protocol/databag.js";
export * from "./protocol/databags.js";
export * from "./protocol/kubernetes-databag.js";
export * from "./protocol/machines-databag.js";
export * from "./protocol/original-versions.js";
// The local state file codecs are exported with their substrate's databag; the rest of
// local-files.ts is shared by them only.
export { pythonMtimeSeconds } from "./protocol/local-files.js";
export * from "./versions/index.js";
export * from "./charm-config/pause.js";
export * from "./charm-config/actions.js";
export * from "./charm-config/charmcraft.js";
export * from "./validation.js";
export * from "./promises.js";
