export * from "./charm-dirs.js";
export * from "./hook-cost.js";
