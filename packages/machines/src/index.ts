export * from "./pythonJson.js";
export * from "./snapd.js";
export * from "./decisions.js";
export * from "./statuses.js";
export * from "./compatibility.js";
export * from "./localState.js";
export * from "./machines.js";
