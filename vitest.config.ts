import { defineConfig } from "vitest/config";

// One run over every package and app: used by the README's test command.
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "tooling/charm-build"],
  },
});
