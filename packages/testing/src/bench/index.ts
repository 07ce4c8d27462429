export * from "./charm-dirs.js";
export * from "./hook-cost.js";
export * from "./load-cost.js";
export * from "./update-status-cost.js";
