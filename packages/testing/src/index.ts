export {};
export * from "./kubernetes/cluster.js";
