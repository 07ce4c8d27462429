export * from "./context.js";
export * from "./hook-tools.js";
export * from "./errors.js";
export * from "./hook-context.js";
export * from "./action-results.js";
export * from "./tool-runner.js";
export * from "./process-hook-tools.js";
