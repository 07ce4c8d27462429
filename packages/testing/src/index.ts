export {};
export * from "./kubernetes/cluster.js";
export * from "./snapd/snapd.js";
