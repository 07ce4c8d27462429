export * from "./context.js";
export * from "./hook-tools.js";
