import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { openDatabase, type Database } from "../../src/db/data-source.js";
import { APP_RECEIVER } from "../../src/db/entities/delivery.js";
import { sql } from "../../src/db/sql.js";
import { recordDeliveries } from "../../src/domain/deliveries.js";
import { openTask } from "../../src/domain/github-intake.js";
import { handleDelivery } from "../../src/domain/intake.js";
import { ensureOrganization, ensureTeam } from "../../src/domain/organizations.js";
import { issueOpened } from "../helpers/github-events.js";
import { createTestDatabase, type TestDatabase } from "../helpers/services.js";

let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDb = await createTestDatabase("intake_concurrency");
  database = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent" });
  const org = await ensureOrganization(database.dataSource, { slug: "acme", githubLogin: "acme-corp" });
  await ensureTeam(database.dataSource, { orgId: org.id, slug: "core" });
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

async function store(payload: Record<string, unknown>) {
  const [stored] = await recordDeliveries(database.dataSource, [{ receiver: APP_RECEIVER, webhookId: null, orgId: null, githubDeliveryId: randomUUID(), event: "issues", payload }]);
  return stored!;
}

describe("processing deliveries concurrently", () => {
  it("one delivery handled by eight workers at once makes one task and one outcome", async () => {
    const delivery = await store(issueOpened({ owner: "acme-corp", number: 1, installationId: 11 }));
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => handleDelivery(database.dataSource, delivery.id, openTask)));
    const taskIds = new Set(outcomes.map((o) => o.taskId));
    expect(taskIds.size).toBe(1);
    expect(outcomes.every((o) => o.status === "processed")).toBe(true);
    const tasks = await sql(database.dataSource, "SELECT id FROM tasks WHERE source->>'number' = '1'");
    expect(tasks.rows).toHaveLength(1);
    const events = await sql(database.dataSource, "SELECT type FROM task_events WHERE task_id = $1", [[...taskIds][0]]);
    expect(events.rows).toEqual([{ type: "task.created" }]);
  });

  it("ten deliveries of the same issue (redeliveries with new ids) at once make one task", async () => {
    const deliveries = await Promise.all(Array.from({ length: 10 }, () => store(issueOpened({ owner: "acme-corp", number: 2, installationId: 11 }))));
    const outcomes = await Promise.all(deliveries.map((d) => handleDelivery(database.dataSource, d.id, openTask)));
    expect(new Set(outcomes.map((o) => o.taskId)).size).toBe(1);
    expect(outcomes.filter((o) => o.actionTaken?.startsWith("task_created:"))).toHaveLength(1);
    expect(outcomes.filter((o) => o.actionTaken?.startsWith("task_exists:"))).toHaveLength(9);
  });

  it("first sight of one installation from many deliveries at once makes one installation and one webhook row", async () => {
    const deliveries = await Promise.all(Array.from({ length: 6 }, (_, i) => store(issueOpened({ owner: "acme-corp", number: 100 + i, installationId: 12 }))));
    await Promise.all(deliveries.map((d) => handleDelivery(database.dataSource, d.id, openTask)));
    const installs = await sql(database.dataSource, "SELECT id FROM installations WHERE github_installation_id = 12");
    expect(installs.rows).toHaveLength(1);
    const hooks = await sql(database.dataSource, "SELECT id FROM webhooks WHERE installation_id = $1", [(installs.rows[0] as { id: string }).id]);
    expect(hooks.rows).toHaveLength(1);
  });
});
