// ESLint flat config: TypeScript (strict, type-aware where cheap) for sdk/, gateway/, scripts/, test/.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".tools/**",
      ".next/**",
      ".next-local-build/**",
      "artifacts/**",
      "cache/**",
      "coverage/**",
      ".plain-build/**",
      "types/**",
      "ignition/deployments/**",
      "sdk/generated/**",
      "gateway/drizzle/**",
      "next-env.d.ts",
      "indexer/ponder-env.d.ts",
      "indexer/generated/**",
      "indexer/.ponder/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.mocha } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
);
