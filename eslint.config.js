// ESLint for the dashboard's plain ES modules (browser) and their Node tests.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["services/api/dashboard/static/**/*.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.browser },
    rules: {
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // Text goes through text nodes (dom.js h()): nothing is parsed as HTML.
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Build elements with h(); never parse HTML." },
        { property: "outerHTML", message: "Build elements with h(); never parse HTML." },
      ],
    },
  },
  {
    files: ["tests/dashboard/**/*.mjs"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.node },
  },
];
