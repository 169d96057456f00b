import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { DataDirLockedError } from "../../src/db/data-dir-lock.js";
import { openDatabase } from "../../src/db/data-source.js";
import { sql } from "../../src/db/sql.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { APP_WEBHOOK_SECRET, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
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
