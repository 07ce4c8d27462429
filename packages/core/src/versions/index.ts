export * from "./pep440.js";
