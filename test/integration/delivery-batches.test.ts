import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { APP_RECEIVER } from "../../src/db/entities/delivery.js";
import { sql } from "../../src/db/sql.js";
import { FinishedDeliveries, recordDeliveries } from "../../src/domain/deliveries.js";
import { deliveryJobId } from "../../src/domain/jobs.js";
import { deliveryBatches, processDelivery } from "../../src/queue/workers/process-delivery.js";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueEvent, issueOpened } from "../helpers/github-events.js";
import { autoAssigningOrg } from "../helpers/auto-assign.js";
import { testRandom } from "../helpers/random.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
const OWNER = "acme-corp";

beforeAll(async () => {
  rt = await startTestRuntime({ label: "delivery_batches", env: { JOB_ATTEMPTS: "3", JOB_BACKOFF_MS: "50" } });
  await createTenant(rt, "acme", OWNER);
  // A real database failure for one title: the handler of that delivery throws on every try, counted by a sequence
  // (which a rollback does not undo).
  await sql(rt.database.dataSource, "CREATE SEQUENCE boom_tries");
  await sql(rt.database.dataSource, `
    CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.title LIKE '%boom%' THEN PERFORM nextval('boom_tries'); RAISE EXCEPTION 'tasks refused: boom'; END IF;
      RETURN NEW;
    END $$`);
  await sql(rt.database.dataSource, "CREATE TRIGGER refuse_boom BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_boom()");
});
afterAll(async () => {
  await rt?.stop();
});

async function store(payloads: { event: string; payload: Record<string, unknown> }[]): Promise<string[]> {
  const stored = await recordDeliveries(rt.database.dataSource, payloads.map(({ event, payload }) => ({
    receiver: APP_RECEIVER, webhookId: null, orgId: null, githubDeliveryId: randomUUID(), event, payload,
  })));
  return stored.map((d) => d.id);
}

const opened = (number: number, title = `Issue ${number}`) => ({ event: "issues", payload: issueOpened({ owner: OWNER, number, title, installationId: 7 }) });

interface DeliveryRow { id: string; status: string; attempts: number; action_taken: string | null; error: string | null; tx: string }

async function deliveries(ids: string[]): Promise<DeliveryRow[]> {
  return (await sql<DeliveryRow>(rt.database.dataSource,
    "SELECT id, status, attempts, action_taken, error, xmin::text AS tx FROM webhook_deliveries WHERE id = ANY($1::uuid[])", [ids])).rows;
}

async function processed(ids: string[]): Promise<DeliveryRow[]> {
  return waitFor(async () => {
    const rows = await deliveries(ids);
    return rows.every((r) => r.status !== "received") ? rows : undefined;
  }, 15_000, "the deliveries to be processed");
}

/** What the deliveries of issues first..last made: tasks, their events, and requests for their status comments. */
async function madeFor(first: number, last: number): Promise<{ tasks: number; events: number; comments: number }> {
  return (await sql<{ tasks: number; events: number; comments: number }>(rt.database.dataSource, `
    WITH made AS (SELECT id FROM tasks WHERE (source->>'number')::integer BETWEEN $1 AND $2)
    SELECT (SELECT count(*)::integer FROM made) AS tasks,
           (SELECT count(*)::integer FROM task_events WHERE task_id IN (SELECT id FROM made)) AS events,
           (SELECT count(*)::integer FROM job_outbox WHERE job_name = 'github-comment' AND (payload->>'taskId')::integer IN (SELECT id FROM made)) AS comments`,
  [first, last])).rows[0]!;
}

describe("a job naming deliveries stored together", () => {
  it("processes them in one transaction, in the order they arrived", async () => {
    const ids = await store([opened(1), opened(2), { event: "issues", payload: issueEvent("labeled", { owner: OWNER, number: 1, installationId: 7, labels: ["urgent"] }) }]);
    await rt.queue.add("process-delivery", { deliveryId: ids[0]!, deliveryIds: ids }, { jobId: deliveryJobId(ids[0]!) });

    const rows = await processed(ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id)!.action_taken?.split(":")[0])).toEqual(["task_created", "task_created", "task_updated"]);
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    // One commit for the three outcomes and the two tasks.
    const tasks = (await sql<{ number: number; priority: string; tx: string }>(rt.database.dataSource,
      "SELECT (source->>'number')::integer AS number, priority, xmin::text AS tx FROM tasks WHERE (source->>'number')::integer IN (1, 2) ORDER BY 1")).rows;
    expect(tasks.map((t) => [t.number, t.priority])).toEqual([[1, "critical"], [2, "medium"]]);
    expect(new Set([...rows, ...tasks].map((r) => r.tx)).size).toBe(1);
  });

  it("fails a delivery whose handler throws alone: the others are processed once", async () => {
    const ids = await store([opened(10), opened(11), opened(12, "boom"), opened(13), opened(14)]);
    await rt.queue.add("process-delivery", { deliveryId: ids[0]!, deliveryIds: ids }, { jobId: deliveryJobId(ids[0]!) });

    const rows = await processed(ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const boom = byId.get(ids[2]!)!;
    expect(boom).toMatchObject({ status: "failed", attempts: 3 });
    // Tried once per try of the job: the batch it undid is not followed by a second try of it on its own.
    expect((await sql(rt.database.dataSource, "SELECT last_value FROM boom_tries")).rows).toEqual([{ last_value: 3 }]);
    expect(boom.error).toContain("tasks refused: boom");
    for (const id of [ids[0]!, ids[1]!, ids[3]!, ids[4]!]) expect(byId.get(id)).toMatchObject({ status: "processed", attempts: 1 });
    // The batch that failed left nothing behind: one task, one event and one comment request per issue.
    const made = await madeFor(10, 14);
    expect(made).toEqual({ tasks: 4, events: 4, comments: 4 });
  });
});

/** The text of every message the process sends to PostgreSQL while `work` runs. */
async function messagesDuring(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [message] = args as [string | { text?: string }];
    sent.push(typeof message === "string" ? message : message?.text ?? "");
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = query;
  }
  return sent;
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe("issues opened in one batch", () => {
  it("run at the same time, different issues' statements sharing round trips; one issue's deliveries keep their order", async () => {
    const issues = Array.from({ length: 8 }, (_, i) => 200 + i);
    let ids: string[] = [];
    const sent = await messagesDuring(async () => {
      // Issue 200 is opened twice in the batch: the first delivery creates its task, the second finds it.
      ids = await store([...issues.map((n) => opened(n)), opened(200, "Issue 200 again")]);
      await rt.queue.add("process-delivery", { deliveryId: ids[0]!, deliveryIds: ids }, { jobId: deliveryJobId(ids[0]!) });
      await processed(ids);
    });

    const byId = new Map((await deliveries(ids)).map((r) => [r.id, r]));
    expect(ids.map((id) => [byId.get(id)!.status, byId.get(id)!.attempts, byId.get(id)!.action_taken!.split(":")[0]]))
      .toEqual([...issues.map(() => ["processed", 1, "task_created"]), ["processed", 1, "task_exists"]]);
    expect(new Set(ids.map((id) => byId.get(id)!.tx)).size).toBe(1);
    expect(await madeFor(200, 207)).toEqual({ tasks: 8, events: 8, comments: 8 });
    const title = (await sql<{ title: string }>(rt.database.dataSource, "SELECT title FROM tasks WHERE (source->>'number')::integer = 200")).rows;
    expect(title).toEqual([{ title: "[GitHub] Issue 200" }]);
    // Nine task INSERTs reached PostgreSQL in fewer messages than deliveries: the issues' handlers shared round trips.
    const carrying = sent.filter((text) => text.includes("INSERT INTO tasks"));
    expect(carrying.reduce((n, text) => n + count(text, "INSERT INTO tasks"), 0)).toBe(9);
    expect(carrying.length).toBeLessThan(3);
  });

  it("fail each delivery whose handler throws alone, also two of them in one turn", async () => {
    const tries = async () => Number((await sql<{ n: string }>(rt.database.dataSource,
      "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM boom_tries")).rows[0]!.n);
    const before = await tries();
    const ids = await store([opened(400), opened(401, "boom one"), opened(402), opened(403, "boom two"), opened(404)]);
    await rt.queue.add("process-delivery", { deliveryId: ids[0]!, deliveryIds: ids }, { jobId: deliveryJobId(ids[0]!) });

    const byId = new Map((await processed(ids)).map((r) => [r.id, r]));
    for (const id of [ids[1]!, ids[3]!]) expect(byId.get(id)).toMatchObject({ status: "failed", attempts: 3 });
    for (const id of [ids[0]!, ids[2]!, ids[4]!]) expect(byId.get(id)).toMatchObject({ status: "processed", attempts: 1 });
    // Each tried once per try of the job: the second's statement, sent after the first's failed, was not run.
    expect(await tries() - before).toBe(6);
    expect(await madeFor(400, 404)).toEqual({ tasks: 3, events: 3, comments: 3 });
  });

  it("give idle agents to new auto-assigned tasks in turn: no agent gets two", async () => {
    const org = await autoAssigningOrg(rt, [{ name: "eng-1", role: "engineer" }, { name: "eng-2", role: "engineer" }, { name: "eng-3", role: "engineer" }]);
    const stored = await recordDeliveries(rt.database.dataSource, Array.from({ length: 6 }, (_, i) => ({
      receiver: APP_RECEIVER, webhookId: null, orgId: null, githubDeliveryId: randomUUID(), event: "issues",
      payload: issueOpened({ owner: org.owner, number: 300 + i, installationId: org.installationId }),
    })));
    const ids = stored.map((d) => d.id);
    await rt.queue.add("process-delivery", { deliveryId: ids[0]!, deliveryIds: ids }, { jobId: deliveryJobId(ids[0]!) });
    const rows = await processed(ids);
    expect(rows.map((r) => r.status)).toEqual(ids.map(() => "processed"));
    expect(new Set(rows.map((r) => r.tx)).size).toBe(1);

    const tasks = (await sql<{ assignee_id: string | null; status: string }>(rt.database.dataSource,
      "SELECT assignee_id, status FROM tasks WHERE org_id = $1 ORDER BY id", [org.tenant.orgId])).rows;
    expect(tasks).toHaveLength(6);
    const assignees = tasks.map((t) => t.assignee_id).filter((id) => id !== null);
    expect(assignees.sort()).toEqual(Object.values(org.agents).sort());
    const agents = (await sql<{ status: string }>(rt.database.dataSource, "SELECT status FROM agents WHERE org_id = $1", [org.tenant.orgId])).rows;
    expect(agents.map((a) => a.status)).toEqual(["working", "working", "working"]);
  });
});

describe("several workers at once", () => {
  it("jobs naming the same deliveries on four workers process each delivery once, with one task per issue", async () => {
    const issues = Array.from({ length: 20 }, (_, i) => 100 + i);
    // Each issue opened twice, with two delivery ids: one task per issue all the same.
    const ids = await store([...issues, ...issues].map((n) => opened(n)));
    const random = testRandom();
    const workers = Array.from({ length: 4 }, () => processDelivery({
      db: rt.database.dataSource, probot: rt.probot!, log: rt.log, metrics: rt.metrics, finished: new FinishedDeliveries(),
      batches: deliveryBatches(rt.database.dataSource, rt.probot!, rt.log, { maxDeliveries: 16 }),
    }));
    // Every delivery in three jobs of random size, the jobs spread over the workers and run at the same time.
    const jobs = [0, 1, 2].flatMap(() => {
      const order = random.shuffle(ids);
      const sizes: string[][] = [];
      while (order.length > 0) sizes.push(order.splice(0, random.int(1, 9)));
      return sizes;
    });
    const context = { jobId: "job", attempt: 1, maxAttempts: 3, isLastAttempt: false };
    const results = await Promise.allSettled(random.shuffle(jobs).map((job, i) =>
      workers[i % workers.length]!({ deliveryId: job[0]!, deliveryIds: job }, context)));
    // A batch another batch deadlocked with is undone and its deliveries processed one by one: no job fails.
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);

    const rows = await deliveries(ids);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ["processed", 1]));
    const outcomes = rows.map((r) => r.action_taken!.split(":")[0]).sort();
    expect(outcomes).toEqual([...issues.map(() => "task_created"), ...issues.map(() => "task_exists")].sort());
    // Batches did the work: deliveries share transactions (each one alone would have its own).
    const perTransaction = (await sql<{ n: number }>(rt.database.dataSource,
      "SELECT count(*)::integer AS n FROM webhook_deliveries WHERE id = ANY($1::uuid[]) GROUP BY xmin::text", [ids])).rows.map((r) => r.n);
    expect(Math.max(...perTransaction)).toBeGreaterThan(1);
    const counts = await madeFor(100, 119);
    expect(counts).toEqual({ tasks: 20, events: 20, comments: 20 });
  });
});
