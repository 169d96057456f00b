import base from "./jest.config.js";

/** npm run test:chaos: the heavy versions of the reliability scenarios (test/chaos/*.chaos.ts), one file at a time. */
export default {
  ...base,
  roots: ["<rootDir>/test/chaos"],
  testMatch: ["**/*.chaos.ts"],
  testTimeout: 600_000,
  maxWorkers: 1,
};
