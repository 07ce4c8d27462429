export * from "./context.js";
export * from "./hook-tools.js";
export * from "./errors.js";
export * from "./hook-context.js";
