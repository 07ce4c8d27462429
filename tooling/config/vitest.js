import { defineProject } from "vitest/config";

/**
 * The test setup every package shares. Workspace imports resolve to TypeScript sources
 * through the "@refresh/source" export condition, so tests never need a build first.
 * @param {import("vitest/config").TestProjectInlineConfiguration["test"]} [test]
 */
export function packageProject(test = {}) {
  return defineProject({
    resolve: { conditions: ["@refresh/source"] },
    ssr: { resolve: { conditions: ["@refresh/source"] } },
    test: {
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      environment: "node",
      ...test,
    },
  });
}
