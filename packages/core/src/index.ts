export * from "./common.js";
export * from "./errors.js";
export * from "./status.js";
export * from "./versions/index.js";
