export * from "./pep440.js";
export * from "./charmVersion.js";
export * from "./constraint.js";
export * from "./refreshVersions.js";
export * from "./dependencyModel.js";
export * from "./compatibility.js";
