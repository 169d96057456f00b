import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".data/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", Buffer: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // Layers import only downward: the domain decides, and never reaches up into the layers that call it or out to the adapters.
    files: ["src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{
          regex: "^(\\.\\./)+(http|ingress|queue|github|outbound|mcp|runner|console|cli)(/|$)|^(\\.\\./)+(runtime|app|index)(\\.js)?$",
          message: "the domain never imports the layers above it nor the adapters (http, ingress, queue, github, outbound, mcp, runner, console, cli, the runtime): take what an adapter does as a parameter.",
        }],
      }],
    },
  },
  {
    // Routes speak HTTP and call the domain; the domain runs the SQL.
    files: ["src/http/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: [{ name: "typeorm", allowTypeImports: true, message: "routes pass the DataSource to domain functions; they run no queries." }],
        patterns: [{ regex: "(^|/)db/sql(\\.js)?$", message: "routes run no SQL: call a domain function." }],
      }],
      "no-restricted-syntax": ["error", {
        selector: "CallExpression > MemberExpression.callee[property.name=/^(query|transaction|createQueryRunner|createQueryBuilder|getRepository)$/]",
        message: "routes run no SQL and open no transactions: call a domain function.",
      }],
    },
  },
  {
    // The console's one browser script.
    files: ["src/console/assets/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: { window: "readonly", document: "readonly", location: "readonly", fetch: "readonly", DOMParser: "readonly", CustomEvent: "readonly", EventSource: "readonly" },
    },
  },
  {
    // Payload builders edit GitHub's example JSON freely.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
