export * from "./pythonJson.js";
export * from "./snapd.js";
