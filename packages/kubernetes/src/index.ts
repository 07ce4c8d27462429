export * from "./api.js";
export * from "./errors.js";
export * from "./connect.js";
export { DEFAULT_SERVICE_ACCOUNT_DIR, loadInClusterConfig, type InClusterConfig } from "./in-cluster.js";
export * from "./kubernetes.js";
export * from "./invariants.js";
