import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { acquireDataDirLock } from "../../src/db/data-dir-lock.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { hashApiKey } from "../../src/domain/api-keys.js";
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
