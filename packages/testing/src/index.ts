export {};
export * from "./kubernetes/cluster.js";
export * from "./kubernetes/api-server.js";
export * from "./kubernetes/tls.js";
export * from "./kubernetes/driver.js";
export * from "./process/index.js";
export * from "./snapd/snapd.js";
export * from "./model/index.js";
export * from "./harness/world.js";
