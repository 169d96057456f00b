import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { loadConfig } from "../../src/config.js";
import { DataDirLockedError } from "../../src/db/data-dir-lock.js";
import { openDatabase } from "../../src/db/data-source.js";
import { sql } from "../../src/db/sql.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { REDACTED_PATHS } from "../../src/log.js";
import { startRuntime, type Runtime } from "../../src/runtime.js";
import { APP_WEBHOOK_SECRET, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { testPrivateKey } from "../helpers/private-key.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;

// PGlite takes seconds to start, more on a busy machine.
beforeAll(async () => {
  rt = await startTestRuntime({ label: "embedded", services: false });
}, 120_000);
afterAll(async () => {
  await rt?.stop();
});

describe("the embedded default (PGlite + in-process queue)", () => {
  it("runs the same migrations", async () => {
    expect(rt.database.embedded).toBe(true);
    expect(rt.queue.kind).toBe("memory");
    const applied = await sql<{ name: string }>(rt.database.dataSource, "SELECT name FROM migrations ORDER BY id");
    expect(applied.rows.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it("seeds an organization, a team and an admin key on first start, in a mode-600 file", async () => {
    const file = path.join(rt.config.dataDir, "admin-api-key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, "utf8").trim();
    const res = await rt.server.inject({ method: "GET", url: "/api/v1/webhooks", headers: { "x-api-key": key } });
    expect(res.statusCode).toBe(200);
  });

  it("answers health with redis null: the queue is in process", async () => {
    const res = await rt.server.inject({ method: "GET", url: "/api/v1/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", postgres: true, redis: null });
  });

  it("belongs to one process at a time", async () => {
    await expect(openDatabase({ dataDir: rt.config.dataDir })).rejects.toThrow(DataDirLockedError);
  });

  it("turns a signed issues.opened into a task", async () => {
    const db = rt.database.dataSource;
    await sql(db, "UPDATE organizations SET github_login = 'octo-org' WHERE slug = 'default'");
    const signed = signedDelivery(APP_WEBHOOK_SECRET, "issues", issueOpened({ owner: "octo-org", title: "Embedded works", labels: ["P1"], installationId: 5 }));
    const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
    expect(res.statusCode).toBe(202);
    const task = await waitFor(async () => (await sql<{ title: string; priority: string }>(db, "SELECT title, priority FROM tasks")).rows[0]);
    expect(task).toEqual({ title: "[GitHub] Embedded works", priority: "high" });
  });
});

describe("the first start and a restart on the same DATA_DIR, with no secrets configured", () => {
  let dataDir: string;
  const logLines: string[] = [];
  const log = pino({ level: "info", redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, { write: (line: string) => logLines.push(line) });
  const file = (name: string) => path.join(dataDir, name);
  const read = (name: string) => readFileSync(file(name), "utf8");
  const mode = (name: string) => statSync(file(name)).mode & 0o777;

  function start(): Promise<Runtime> {
    // No DATABASE_URL, REDIS_URL, JWT_SECRET or ENCRYPTION_KEY: the embedded default makes what it needs.
    const config = loadConfig({ DATA_DIR: dataDir, APP_ID: "12345", PRIVATE_KEY: testPrivateKey(), WEBHOOK_SECRET: APP_WEBHOOK_SECRET, LOG_LEVEL: "info" });
    return startRuntime(config, log, { listen: false });
  }

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "entourage-restart-"));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps its generated secrets, its seed and its webhooks across a restart", async () => {
    const first = await start();
    let adminKey: string;
    let hook: { id: string; secret: string };
    let token: string;
    const secrets: Record<string, string> = {};
    try {
      for (const name of ["jwt-secret", "encryption-key", "admin-api-key"]) {
        expect({ name, mode: mode(name) }).toEqual({ name, mode: 0o600 });
        secrets[name] = read(name);
      }
      adminKey = secrets["admin-api-key"]!.trim();
      expect(adminKey).toMatch(/^oc_/);
      const db = first.database.dataSource;
      expect((await sql(db, "SELECT slug FROM organizations")).rows).toEqual([{ slug: "default" }]);
      expect((await sql(db, "SELECT t.slug FROM teams t JOIN organizations o ON o.id = t.org_id WHERE o.slug = 'default'")).rows).toEqual([{ slug: "default" }]);
      const team = (await sql<{ id: string }>(db, "SELECT id FROM teams")).rows[0]!.id;

      const created = await first.server.inject({
        method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": adminKey }, payload: { team_id: team, name: "kept", events: ["issues"] },
      });
      expect(created.statusCode).toBe(201);
      hook = created.json();
      const issued = await first.server.inject({ method: "POST", url: "/api/v1/auth/token", headers: { "x-api-key": adminKey } });
      expect(issued.statusCode).toBe(200);
      token = issued.json().token;
    } finally {
      await first.close();
    }

    const firstLog = logLines.join("");
    const announced = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.file === file("admin-api-key"));
    expect(announced).toHaveLength(1);
    expect(announced[0].msg).toMatch(/admin API key/);
    expect(firstLog).not.toContain(adminKey);
    expect(firstLog).not.toContain(secrets["jwt-secret"]!.trim());
    expect(firstLog).not.toContain(secrets["encryption-key"]!.trim());
    expect(firstLog).not.toContain(hook.secret);
    logLines.length = 0;

    const second = await start();
    try {
      for (const name of ["jwt-secret", "encryption-key", "admin-api-key"]) {
        expect({ name, mode: mode(name), content: read(name) }).toEqual({ name, mode: 0o600, content: secrets[name] });
      }
      const db = second.database.dataSource;
      expect((await sql(db, "SELECT slug FROM organizations")).rows).toEqual([{ slug: "default" }]);
      expect((await sql<{ n: number }>(db, "SELECT count(*)::integer AS n FROM api_keys")).rows[0]!.n).toBe(1);

      expect((await second.server.inject({ method: "GET", url: `/api/v1/webhooks/${hook.id}`, headers: { "x-api-key": adminKey } })).statusCode).toBe(200);
      const bearer = await second.server.inject({ method: "GET", url: "/api/v1/webhooks", headers: { authorization: `Bearer ${token}` } });
      expect(bearer.statusCode).toBe(200);
      // The stored secret was sealed with the first start's ENCRYPTION_KEY: it opens, and verifies the signature.
      const signed = signedDelivery(hook.secret, "issues", issueOpened({ number: 77, installationId: null }));
      const received = await second.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers: signed.headers, payload: signed.payload });
      expect(received.statusCode).toBe(202);
      const task = await waitFor(async () => (await sql<{ title: string }>(db, "SELECT title FROM tasks")).rows[0], 20_000, "the task");
      expect(task.title).toMatch(/^\[GitHub\] /);
    } finally {
      await second.close();
    }
    const secondLog = logLines.join("");
    expect(secondLog).not.toContain(file("admin-api-key"));
    expect(secondLog).not.toContain(adminKey);
  }, 180_000);
});
