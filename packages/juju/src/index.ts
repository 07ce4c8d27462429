export * from "./hook-tools.js";
