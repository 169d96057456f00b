import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import { loadConfig } from "../../src/config.js";
import { acquireDataDirLock } from "../../src/db/data-dir-lock.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { hashApiKey } from "../../src/domain/api-keys.js";
import { startRuntime } from "../../src/runtime.js";
import { TEST_ENCRYPTION_KEY } from "../helpers/app-runtime.js";
import { createTestDatabase, type TestDatabase } from "../helpers/services.js";

const CLI = path.resolve("dist/cli/admin.js");
let testDb: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  testDb = await createTestDatabase("admin_cli");
  dataDir = mkdtempSync(path.join(tmpdir(), "entourage-cli-"));
});
afterAll(async () => {
  await testDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

function admin(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env },
    encoding: "utf8",
    cwd: dataDir,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run admin", () => {
  it("bootstrap creates what is missing and prints the ids and a new key", async () => {
    const env = { DATABASE_URL: testDb.url };
    const first = admin(["bootstrap", "--org", "acme", "--name", "Acme", "--github-login", "acme-corp", "--team", "core"], env);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const created = JSON.parse(first.stdout);
    expect(created).toEqual({ org_id: expect.any(String), team_id: expect.any(String), api_key: expect.stringMatching(/^oc_/) });

    const again = JSON.parse(admin(["bootstrap", "--org", "acme", "--team", "core"], env).stdout);
    expect([again.org_id, again.team_id]).toEqual([created.org_id, created.team_id]);
    expect(again.api_key).not.toBe(created.api_key);

    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    const org = await client.query("SELECT name, github_login FROM organizations WHERE id = $1", [created.org_id]);
    expect(org.rows[0]).toEqual({ name: "Acme", github_login: "acme-corp" });
    const keys = await client.query("SELECT key_hash FROM api_keys WHERE org_id = $1", [created.org_id]);
    expect(keys.rows.map((r) => r.key_hash).sort()).toEqual([hashApiKey(created.api_key), hashApiKey(again.api_key)].sort());
    expect(JSON.stringify(keys.rows)).not.toContain(created.api_key);
    await client.end();

    const key = admin(["keys", "create", "--org", "acme", "--role", "agent"], env);
    expect(JSON.parse(key.stdout)).toMatchObject({ org_id: created.org_id, role: "agent", api_key: expect.stringMatching(/^oc_/) });
    expect(JSON.parse(admin(["migrate"], env).stdout)).toEqual({ migrations: MIGRATIONS.map((m) => m.name) });
  });

  it("says what is wrong on bad usage, an unknown org and a bad variable", () => {
    const usage = admin(["bootstrap"], { DATABASE_URL: testDb.url });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--org is required");
    expect(admin(["frobnicate"], {}).stderr).toContain("unknown command: frobnicate");
    const missing = admin(["keys", "create", "--org", "nope"], { DATABASE_URL: testDb.url });
    expect([missing.status, missing.stderr.trim()]).toEqual([1, "admin: organization nope not found"]);
    const badEnv = admin(["migrate"], { DATABASE_URL: "mysql://x" });
    expect(badEnv.stderr).toContain("DATABASE_URL: must be a postgres");
  });

  it("reads ENV_FILE as the server does (default ./.env), an empty variable counting as unset", async () => {
    const envFile = path.join(dataDir, "custom.env");
    writeFileSync(envFile, `DATABASE_URL=${testDb.url}\nLOG_LEVEL=silent\n`);
    const fromFile = admin(["bootstrap", "--org", "from-env-file"], { ENV_FILE: envFile, DATABASE_URL: "" });
    expect([fromFile.status, fromFile.stderr]).toEqual([0, ""]);
    writeFileSync(path.join(dataDir, ".env"), `DATABASE_URL=${testDb.url}\n`);
    let fromDotEnv;
    try {
      fromDotEnv = admin(["bootstrap", "--org", "from-dot-env"], {});
    } finally {
      rmSync(path.join(dataDir, ".env"));
    }
    expect([fromDotEnv.status, fromDotEnv.stderr]).toEqual([0, ""]);

    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    try {
      const orgs = await client.query("SELECT id, slug FROM organizations WHERE slug IN ('from-env-file', 'from-dot-env') ORDER BY slug");
      expect(orgs.rows).toEqual([
        { id: JSON.parse(fromDotEnv.stdout).org_id, slug: "from-dot-env" },
        { id: JSON.parse(fromFile.stdout).org_id, slug: "from-env-file" },
      ]);
    } finally {
      await client.end();
    }
    // A variable already set wins over the file.
    const setWins = admin(["migrate"], { ENV_FILE: envFile, DATABASE_URL: "mysql://set-wins" });
    expect(setWins.stderr).toContain("DATABASE_URL: must be a postgres");
  });

  it("works on the embedded database, and refuses it while another process holds it", () => {
    const dir = path.join(dataDir, "embedded");
    const ok = admin(["bootstrap", "--org", "solo"], { DATA_DIR: dir });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).api_key).toMatch(/^oc_/);
    const release = acquireDataDirLock(dir);
    try {
      const locked = admin(["bootstrap", "--org", "solo"], { DATA_DIR: dir });
      expect(locked.status).toBe(1);
      expect(locked.stderr).toContain(`is in use by process ${process.pid}`);
    } finally {
      release();
    }
  });
});

describe("the first API key on PostgreSQL", () => {
  let emptyDb: TestDatabase;
  beforeAll(async () => {
    emptyDb = await createTestDatabase("first_key");
  });
  afterAll(async () => {
    await emptyDb?.drop();
  });

  /** A server start on that database, as ROLE=web or all would do it, with the lines it logged. */
  async function start() {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const config = loadConfig({
      DATABASE_URL: emptyDb.url, DATA_DIR: path.join(dataDir, "first-key"), ENV_FILE: path.join(dataDir, "none.env"),
      JWT_SECRET: "test-jwt-secret-that-is-long-enough-0123456789", ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    });
    return { runtime: await startRuntime(config, log, { listen: false }), lines };
  }

  it("the first start logs one line with the command; the command it names makes a key the API takes; then the line is gone", async () => {
    const first = await start();
    let orgId: string;
    let apiKey: string;
    try {
      const hints = first.lines.filter((line) => line.msg.includes("no organization yet"));
      expect(hints).toHaveLength(1);
      expect(hints[0]!.level).toBe(40);
      const commands = [...hints[0]!.msg.matchAll(/`([^`]+)`/g)].map(([, command]) => command!);
      expect(commands).toEqual(["npm run --silent admin -- bootstrap --org <slug>", "node dist/cli/admin.js bootstrap --org <slug>"]);
      // The image's command, run as the image runs it (from the package's folder).
      const [node, script, ...args] = commands[1]!.replace("<slug>", "acme").split(" ");
      expect(node).toBe("node");
      const made = spawnSync(process.execPath, [script!, ...args], {
        env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", DATABASE_URL: emptyDb.url }, encoding: "utf8",
      });
      expect([made.status, made.stderr]).toEqual([0, ""]);
      ({ org_id: orgId, api_key: apiKey } = JSON.parse(made.stdout));
      const org = await first.runtime.server.inject({ method: "GET", url: `/api/v1/orgs/${orgId}`, headers: { "x-api-key": apiKey } });
      expect(org.statusCode).toBe(200);
      expect(org.json().slug).toBe("acme");
    } finally {
      await first.runtime.close();
    }
    const again = await start();
    await again.runtime.close();
    expect(again.lines.filter((line) => line.msg.includes("no organization yet"))).toEqual([]);
  });

  it("`npm run admin` in the image's layout (dist/ and no src/) builds nothing and runs the CLI", () => {
    const image = mkdtempSync(path.join(tmpdir(), "entourage-image-"));
    try {
      for (const entry of ["dist", "node_modules", "package.json"]) symlinkSync(path.resolve(entry), path.join(image, entry));
      mkdirSync(path.join(image, "scripts"));
      copyFileSync(path.resolve("scripts/build.mjs"), path.join(image, "scripts", "build.mjs"));
      const stamp = statSync(path.resolve("dist/.build-stamp")).mtimeMs;
      const run = spawnSync("npm", ["run", "--silent", "admin", "--", "bootstrap", "--org", "from-image"], {
        cwd: image, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? image, LOG_LEVEL: "silent", DATABASE_URL: emptyDb.url }, encoding: "utf8",
      });
      expect([run.status, run.stderr]).toEqual([0, ""]);
      expect(JSON.parse(run.stdout)).toEqual({ org_id: expect.any(String), team_id: expect.any(String), api_key: expect.stringMatching(/^oc_/) });
      expect(statSync(path.resolve("dist/.build-stamp")).mtimeMs).toBe(stamp);
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });
});
