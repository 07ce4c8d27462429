export * from "./pythonJson.js";
export * from "./snapd.js";
export * from "./decisions.js";
export * from "./statuses.js";
