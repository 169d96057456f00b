import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { reopenDelivery } from "../../src/domain/deliveries.js";
import { ConflictError } from "../../src/domain/errors.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, pullRequestOpened, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let globex: Tenant;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "redeliver", env: { JOB_ATTEMPTS: "2", JOB_BACKOFF_MS: "20" } });
  acme = await createTenant(rt, "acme");
  globex = await createTenant(rt, "globex");
});
afterAll(async () => {
  await rt?.stop();
});

interface DeliveryRow {
  status: string;
  action_taken: string | null;
  task_id: number | null;
  error: string | null;
  processed_at: Date | null;
  attempts: number;
  redeliveries: number;
}

async function register(body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await rt.server.inject({
    method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": acme.apiKey },
    payload: { team_id: acme.teamId, name: "repo", events: ["issues"], ...body },
  });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function receive(hook: { id: string; secret: string }, event: string, payload: unknown): Promise<string> {
  const signed = signedDelivery(hook.secret, event, payload);
  const res = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers: signed.headers, payload: signed.payload });
  expect(res.statusCode).toBe(202);
  return res.json().delivery_id;
}

function redeliver(webhookId: string, deliveryId: string, key = acme.apiKey) {
  return rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`, headers: { "x-api-key": key } });
}

async function row(id: string): Promise<DeliveryRow> {
  const result = await sql<DeliveryRow>(
    rt.database.dataSource,
    "SELECT status, action_taken, task_id, error, processed_at, attempts, redeliveries FROM webhook_deliveries WHERE id = $1",
    [id],
  );
  return result.rows[0]!;
}

function finished(id: string): Promise<DeliveryRow> {
  return waitFor(async () => {
    const current = await row(id);
    return current.status === "received" ? undefined : current;
  }, 10_000, `delivery ${id} to be processed`);
}

async function tasksOfIssue(number: number): Promise<number[]> {
  const result = await sql<{ id: number }>(rt.database.dataSource, "SELECT id FROM tasks WHERE org_id = $1 AND (source->>'number')::integer = $2", [acme.orgId, number]);
  return result.rows.map((r) => r.id);
}

describe("POST /api/v1/webhooks/:id/deliveries/:delivery_id/redeliver", () => {
  it("processes a processed delivery again without a second task", async () => {
    const hook = await register();
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 501, installationId: null }));
    const first = await finished(deliveryId);
    expect(first.status).toBe("processed");
    expect(first.action_taken).toBe(`task_created:${first.task_id}`);

    const res = await redeliver(hook.id, deliveryId);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ delivery_id: deliveryId, status: "received" });
    // The 202 came once the round's job was stored with the reopened delivery; once queued the outbox lets go of it.
    const job = await sql(rt.database.dataSource, "SELECT job_name, payload, enqueued_at IS NOT NULL AS queued, finished_at IS NOT NULL AS let_go FROM job_outbox WHERE job_id = $1", [`delivery-${deliveryId}-r1`]);
    expect(job.rows).toEqual([{ job_name: "process-delivery", payload: { deliveryId }, queued: true, let_go: true }]);

    const again = await finished(deliveryId);
    expect(again).toMatchObject({ status: "processed", task_id: first.task_id, action_taken: `task_exists:${first.task_id}`, redeliveries: 1 });
    expect(again.attempts).toBe(first.attempts + 1);
    expect(await tasksOfIssue(501)).toEqual([first.task_id]);

    for (let round = 2; round <= 3; round++) {
      expect((await redeliver(hook.id, deliveryId)).statusCode).toBe(202);
      expect(await finished(deliveryId)).toMatchObject({ status: "processed", task_id: first.task_id, redeliveries: round });
    }
    expect(await tasksOfIssue(501)).toEqual([first.task_id]);
    const events = await sql(rt.database.dataSource, "SELECT type FROM task_events WHERE task_id = $1 AND type = 'task.created'", [first.task_id]);
    expect(events.rows).toHaveLength(1);
  });

  it("runs a failed delivery again under a new job id, so the failed job kept in Redis does not swallow it", async () => {
    const hook = await register();
    // Every insert of this title fails until the trigger is dropped.
    await sql(rt.database.dataSource, `
      CREATE FUNCTION refuse_kaboom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.title LIKE '%kaboom%' THEN RAISE EXCEPTION 'tasks refused: kaboom'; END IF;
        RETURN NEW;
      END $$`);
    await sql(rt.database.dataSource, "CREATE TRIGGER refuse_kaboom BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_kaboom()");
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 502, title: "kaboom", installationId: null }));
    const failed = await finished(deliveryId);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("kaboom");
    await sql(rt.database.dataSource, "DROP TRIGGER refuse_kaboom ON tasks");

    expect((await redeliver(hook.id, deliveryId)).statusCode).toBe(202);
    const after = await finished(deliveryId);
    expect(after).toMatchObject({ status: "processed", error: null, redeliveries: 1 });
    expect(after.action_taken).toBe(`task_created:${after.task_id}`);
    expect(await tasksOfIssue(502)).toEqual([after.task_id]);
  });

  it("processes an event the webhook ignored once it subscribes to it", async () => {
    const hook = await register({ events: ["issues"] });
    const deliveryId = await receive(hook, "pull_request", pullRequestOpened({ number: 503, installationId: null }));
    expect(await row(deliveryId)).toMatchObject({ status: "ignored", task_id: null });
    const patched = await rt.server.inject({
      method: "PATCH", url: `/api/v1/webhooks/${hook.id}`, headers: { "x-api-key": acme.apiKey }, payload: { events: ["issues", "pull_request"] },
    });
    expect(patched.statusCode).toBe(200);

    expect((await redeliver(hook.id, deliveryId)).statusCode).toBe(202);
    const after = await finished(deliveryId);
    expect(after.status).toBe("processed");
    expect(after.action_taken).toMatch(/^task_created:\d+$/);
  });

  it("ignores a redelivery once the webhook it came to was turned off, and makes no task", async () => {
    const hook = await register();
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 504, installationId: null }));
    const first = await finished(deliveryId);
    expect(first.action_taken).toMatch(/^task_created:\d+$/);
    const patched = await rt.server.inject({ method: "PATCH", url: `/api/v1/webhooks/${hook.id}`, headers: { "x-api-key": acme.apiKey }, payload: { active: false } });
    expect(patched.statusCode).toBe(200);

    expect((await redeliver(hook.id, deliveryId)).statusCode).toBe(202);
    expect(await finished(deliveryId)).toMatchObject({ status: "ignored", action_taken: "ignored: the webhook is inactive", task_id: null });
  });

  it("answers 409 delivery_in_progress to a delivery that is still received", async () => {
    const hook = await register();
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 504, installationId: null }));
    await finished(deliveryId);
    await sql(rt.database.dataSource, "UPDATE webhook_deliveries SET status = 'received' WHERE id = $1", [deliveryId]);
    const res = await redeliver(hook.id, deliveryId);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("delivery_in_progress");
    expect((await row(deliveryId)).redeliveries).toBe(0);
  });

  it("reopens a delivery once when asked several times at once", async () => {
    const hook = await register();
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 505, installationId: null }));
    const first = await finished(deliveryId);
    // The eight calls all wait on the delivery's row before the first goes on: none comes after its job has run.
    const db = rt.database.dataSource;
    const holder = db.createQueryRunner();
    await holder.startTransaction();
    await holder.query("SELECT 1 FROM webhook_deliveries WHERE id = $1 FOR UPDATE", [deliveryId]);
    const settled = Promise.allSettled(Array.from({ length: 8 }, () => reopenDelivery(db, acme.orgId, hook.id, deliveryId)));
    try {
      await waitFor(async () => (await sql<{ n: number }>(db,
        "SELECT count(*)::integer AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0]!.n >= 8,
      10_000, "eight calls waiting on the delivery");
    } finally {
      await holder.commitTransaction();
      await holder.release();
    }
    const outcomes = await settled;
    const reopened = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(reopened).toHaveLength(1);
    expect(refused).toHaveLength(7);
    expect(refused.every((o) => o.reason instanceof ConflictError && o.reason.code === "delivery_in_progress")).toBe(true);
    // Its one new round was scheduled with it, and is processed like any other.
    await rt.relay.flush();
    expect(await finished(deliveryId)).toMatchObject({ status: first.status, task_id: first.task_id, redeliveries: 1 });
  });

  it("answers 404 for unknown deliveries, another webhook's, another organization's and a deleted webhook's", async () => {
    const hook = await register();
    const other = await register();
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 506, installationId: null }));
    await finished(deliveryId);
    expect((await redeliver(hook.id, randomUUID())).statusCode).toBe(404);
    expect((await redeliver(other.id, deliveryId)).statusCode).toBe(404);
    expect((await redeliver(hook.id, deliveryId, globex.apiKey)).statusCode).toBe(404);
    expect((await redeliver(hook.id, "not-a-uuid")).statusCode).toBe(400);
    const deleted = await rt.server.inject({ method: "DELETE", url: `/api/v1/webhooks/${hook.id}`, headers: { "x-api-key": acme.apiKey } });
    expect(deleted.statusCode).toBe(204);
    expect((await redeliver(hook.id, deliveryId)).statusCode).toBe(404);
    expect((await row(deliveryId)).redeliveries).toBe(0);
  });

  it("answers 401 without a key and 403 to an agent key", async () => {
    const hook = await register();
    const deliveryId = await receive(hook, "issues", issueOpened({ number: 507, installationId: null }));
    await finished(deliveryId);
    const anonymous = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/deliveries/${deliveryId}/redeliver` });
    expect(anonymous.statusCode).toBe(401);
    const { key } = await createApiKey(rt.database.dataSource, { orgId: acme.orgId, role: "agent" });
    const agent = await redeliver(hook.id, deliveryId, key);
    expect(agent.statusCode).toBe(403);
    expect((await row(deliveryId)).redeliveries).toBe(0);
  });
});
