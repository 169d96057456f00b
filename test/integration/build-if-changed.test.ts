import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// A project of two source files with the real build script and the real TypeScript.
let project: string;
const output = () => path.join(project, "dist", "greet.js");

function build(...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(project, "scripts", "build.mjs"), ...args], { encoding: "utf8" });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
}

/** Whether the last build compiled: the script's only output is dist/, so a removed file comes back only then. */
function compiles(...args: string[]): boolean {
  rmSync(output(), { force: true });
  build(...args);
  return existsSync(output());
}

/** Makes a file newer than the last build, as an edit after it would. */
function edit(file: string) {
  const built = new Date(Date.now() - 60_000);
  const edited = new Date(Date.now() - 30_000);
  utimesSync(path.join(project, "dist", ".build-stamp"), built, built);
  utimesSync(path.join(project, file), edited, edited);
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), "entourage-build-"));
  mkdirSync(path.join(project, "scripts"));
  mkdirSync(path.join(project, "src"));
  copyFileSync(path.resolve("scripts/build.mjs"), path.join(project, "scripts", "build.mjs"));
  symlinkSync(path.resolve("node_modules"), path.join(project, "node_modules"));
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", target: "ES2022", types: [], strict: true } }));
  writeFileSync(path.join(project, "tsconfig.build.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { rootDir: "src", outDir: "dist" }, include: ["src"] }));
  writeFileSync(path.join(project, "src", "greet.ts"), "export const greet = (name: string): string => `hello ${name}`;\n");
  writeFileSync(path.join(project, "src", "extra.ts"), "export const extra = 1;\n");
});
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe("scripts/build.mjs --if-changed (before npm start, admin and demo)", () => {
  it("compiles the first time, then not while nothing changed; without --if-changed always (npm run build, npm test)", () => {
    build("--if-changed");
    expect(existsSync(output())).toBe(true);
    expect(existsSync(path.join(project, "dist", ".build-stamp"))).toBe(true);
    expect(compiles("--if-changed")).toBe(false);
    expect(compiles()).toBe(true);
  });

  it("compiles when a source changed", () => {
    edit("src/greet.ts");
    expect(compiles("--if-changed")).toBe(true);
    expect(compiles("--if-changed")).toBe(false);
  });

  it("compiles when a tsconfig changed", () => {
    edit("tsconfig.build.json");
    expect(compiles("--if-changed")).toBe(true);
  });

  it("compiles when a source was deleted (its folder changed)", () => {
    unlinkSync(path.join(project, "src", "extra.ts"));
    edit("src");
    expect(compiles("--if-changed")).toBe(true);
  });
});
