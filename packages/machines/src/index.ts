export * from "./snapd.js";
export * from "./decisions.js";
export * from "./statuses.js";
export * from "./localState.js";
export * from "./machines.js";
export * from "./invariants.js";
