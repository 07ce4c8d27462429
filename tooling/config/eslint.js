import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Lint rules shared by the workspace: correctness first, style left to review. */
export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.tooling/**", "**/coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
      eqeqeq: ["error", "always"],
    },
  },
);
