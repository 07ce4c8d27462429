// Presets are plain JavaScript so any loader (tsup's, vitest's, eslint's) can read them
// without a TypeScript step of its own.

/**
 * The build every published package shares: one ESM entry with its declarations.
 * @param {import("tsup").Options} [overrides]
 * @returns {import("tsup").Options}
 */
export function libraryConfig(overrides = {}) {
  return {
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node22",
    platform: "node",
    dts: true,
    clean: true,
    sourcemap: true,
    splitting: true,
    treeshake: true,
    ...overrides,
  };
}
