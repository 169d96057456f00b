import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { APP_ENTRY, freePort } from "../helpers/processes.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";

const run = promisify(execFile);
let root: string;

/** Starts the built app with `env` (and nothing from .env); what it printed when it stopped. */
async function failedStart(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const dataDir = path.join(root, `data-${Math.random().toString(36).slice(2, 8)}`);
  try {
    await run(process.execPath, [APP_ENTRY], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, ENV_FILE: path.join(root, "none.env"), HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
      timeout: 30_000,
    });
    return { code: 0, output: "" };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}

/** One line that names the variable, and no stack. */
function expectOneLine(output: string, variable: string): void {
  const line = output.trim().split("\n").at(-1)!;
  expect(line).toMatch(new RegExp(`^entourage: configuration error: ${variable}: `));
  expect(output).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "entourage-startup-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("a start that cannot succeed says why in one line", () => {
  it("a port in use: before the embedded database, its organization or its key are made", async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    try {
      const dataDir = path.join(root, "port-in-use");
      const { code, output } = await failedStart({ PORT: String(port), DATA_DIR: dataDir });
      expect(code).toBe(1);
      expectOneLine(output, "PORT");
      expect(output).toContain(`127.0.0.1:${port} is already in use`);
      expect(existsSync(path.join(dataDir, "admin-api-key"))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it("a DATABASE_URL whose database does not exist, and a PostgreSQL that does not listen", async () => {
    const secrets = { JWT_SECRET: "j".repeat(32), ENCRYPTION_KEY: "ab".repeat(32), PORT: String(await freePort()) };
    const missing = new URL(TEST_DATABASE_URL);
    missing.pathname = "/entourage_no_such_database";
    const noDatabase = await failedStart({ ...secrets, DATABASE_URL: missing.toString() });
    expectOneLine(noDatabase.output, "DATABASE_URL");
    expect(noDatabase.output).toContain('the database "entourage_no_such_database" does not exist');

    const silent = new URL(TEST_DATABASE_URL);
    silent.port = String(await freePort());
    const notListening = await failedStart({ ...secrets, DATABASE_URL: silent.toString() });
    expectOneLine(notListening.output, "DATABASE_URL");
    expect(notListening.output).toContain("nothing answers at");
    expect(notListening.output).toContain("start PostgreSQL");
  });

  it("every configuration error at once", async () => {
    const { code, output } = await failedStart({ PORT: "nope", LOG_LEVEL: "loud" });
    expect(code).toBe(1);
    expect(output.trim().split("\n")).toHaveLength(1);
    expect(output).toMatch(/^entourage: configuration error: PORT: .*; LOG_LEVEL: /);
  });
});
