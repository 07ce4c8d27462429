export {};
export * from "./kubernetes/cluster.js";
export * from "./process/index.js";
export * from "./snapd/snapd.js";
export * from "./model/index.js";
