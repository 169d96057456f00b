import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { openDatabase, type Database } from "../../src/db/data-source.js";
import { sql } from "../../src/db/sql.js";
import { scheduleJob } from "../../src/domain/outbox.js";
import { createLogger } from "../../src/log.js";
import { afterEachJob } from "../../src/queue/after-each-job.js";
import { BullmqQueue } from "../../src/queue/bullmq-queue.js";
import { DEFAULT_RETRY } from "../../src/domain/jobs.js";
import { OutboxRelay } from "../../src/queue/outbox-relay.js";
import { PermanentJobError, RetryLaterError } from "../../src/queue/queue.js";
import { createRedisPrefix, createTestDatabase, TEST_REDIS_URL, type TestDatabase } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const log = createLogger("silent");
const redis = createRedisPrefix("lost_jobs");
let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDb = await createTestDatabase("lost_jobs");
  database = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent" });
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
  await redis.clean();
});

let queues = 0;
const opened: BullmqQueue[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((queue) => queue.close(1000)));
});

// Nothing listens on port 1: a queue there refuses every job.
const CLOSED_PORT_URL = "redis://127.0.0.1:1";

/** A queue on the test Redis, patient with a loaded machine, or one that refuses every job within half a second when `down`. */
function openQueue(down = false): BullmqQueue {
  const queue = new BullmqQueue({
    redisUrl: down ? CLOSED_PORT_URL : TEST_REDIS_URL, prefix: `${redis.prefix}:q${++queues}`,
    settings: { defaultRetry: { ...DEFAULT_RETRY, attempts: 2, backoffMs: 20 }, retry: {} }, log, enqueueTimeoutMs: down ? 500 : 10_000,
  });
  opened.push(queue);
  return queue;
}

const waitingComments = async (queue: BullmqQueue) => {
  const counts = (await queue.counts())["github-comment"];
  return counts.waiting + counts.delayed;
};

describe("scheduled jobs a queue lost", () => {
  it("are queued again once overdue, under their own job id, until they finish", async () => {
    const db = database.dataSource;
    const before = openQueue();
    await scheduleJob(db, "github-comment", { taskId: 41, kind: "tracked" }, { jobId: "comment-41-tracked" });
    await new OutboxRelay(db, before, log).flush();
    expect(await waitingComments(before)).toBe(1);
    await before.close(1000);

    // A queue on an empty Redis: what a restart without persistence leaves.
    const after = openQueue();
    const relay = new OutboxRelay(db, after, log);
    expect(await waitingComments(after)).toBe(0);
    expect(await relay.requeueUnfinished(60_000)).toBe(0);
    expect(await relay.requeueUnfinished(0)).toBe(1);
    await sleep(5);
    expect(await relay.requeueUnfinished(0)).toBe(1);
    // The job id keeps a job that is still waiting from being queued twice.
    expect(await waitingComments(after)).toBe(1);

    const ran: number[] = [];
    await after.work(afterEachJob({
      "github-comment": async ({ taskId }) => {
        ran.push(taskId);
      },
    }, { afterEach: async () => undefined, onFinished: (_name, jobId) => relay.finished(jobId) }));
    await waitFor(async () => (await sql<{ finished_at: Date | null }>(db, "SELECT finished_at FROM job_outbox WHERE job_id = 'comment-41-tracked'")).rows[0]?.finished_at ?? undefined, 10_000, "the job finished");
    expect(ran).toEqual([41]);
    expect(await relay.requeueUnfinished(0)).toBe(0);
  });

  it("are all queued again, batch after batch, however many wait in front of them", async () => {
    const db = database.dataSource;
    const queue = openQueue();
    const relay = new OutboxRelay(db, queue, log);
    for (let i = 0; i < 250; i++) await scheduleJob(db, "github-comment", { taskId: 1000 + i, kind: "tracked" }, { jobId: `comment-${1000 + i}-tracked` });
    // Handed to a queue an hour ago and never finished.
    await sql(db, "UPDATE job_outbox SET enqueued_at = now() - interval '1 hour' WHERE job_id LIKE 'comment-1___-tracked'");
    expect([await relay.requeueUnfinished(60_000), await relay.requeueUnfinished(60_000), await relay.requeueUnfinished(60_000)]).toEqual([200, 50, 0]);
    expect(await waitingComments(queue)).toBe(250);
  });

  it("count as finished after a final failure, but not while they will be tried again", async () => {
    const db = database.dataSource;
    const queue = openQueue();
    const relay = new OutboxRelay(db, queue, log);
    const tries = new Map<number, number>();
    const failures: string[] = [];
    await queue.work(afterEachJob({
      "github-comment": async ({ taskId }) => {
        const n = (tries.get(taskId) ?? 0) + 1;
        tries.set(taskId, n);
        if (taskId === 51) throw new Error("always fails");
        if (taskId === 52) throw new PermanentJobError("cannot help");
        if (taskId === 53 && n === 1) throw new RetryLaterError(50);
      },
    }, { afterEach: async () => undefined, onFailure: (name) => failures.push(name), onFinished: (_name, jobId) => relay.finished(jobId) }));
    for (const taskId of [51, 52, 53]) await scheduleJob(db, "github-comment", { taskId, kind: "resolved" }, { jobId: `comment-${taskId}-resolved` });
    await relay.flush();
    const finished = async () => (await sql<{ job_id: string }>(db,
      "SELECT job_id FROM job_outbox WHERE job_id LIKE 'comment-5_-resolved' AND finished_at IS NOT NULL ORDER BY job_id")).rows.map((r) => r.job_id);
    await waitFor(async () => (await finished()).length === 3, 10_000, "three finished jobs");
    expect(await finished()).toEqual(["comment-51-resolved", "comment-52-resolved", "comment-53-resolved"]);
    expect(Object.fromEntries(tries)).toEqual({ 51: 2, 52: 1, 53: 2 });
    expect(failures).toHaveLength(4);
  });
});

describe("the outbox relay", () => {
  const schedule = async (count: number, tag: string) => {
    for (let taskId = 1; taskId <= count; taskId += 1) {
      await scheduleJob(database.dataSource, "github-comment", { taskId, kind: "tracked" }, { jobId: `comment-${taskId}-${tag}` });
    }
  };
  const pendingRows = async (tag: string) =>
    Number((await sql<{ n: string }>(database.dataSource, "SELECT count(*) AS n FROM job_outbox WHERE enqueued_at IS NULL AND job_id LIKE $1", [`comment-%-${tag}`])).rows[0]!.n);

  it("queues each scheduled job once when several relays flush at the same time", async () => {
    await schedule(450, "relays");
    // Each relay feeds a queue of its own: a row taken by two relays would show in two queues.
    const relays = [openQueue(), openQueue(), openQueue()].map((queue) => ({ queue, relay: new OutboxRelay(database.dataSource, queue, log) }));
    await Promise.all(relays.flatMap(({ relay }) => [relay.flush(), relay.flush()]));
    const counts = await Promise.all(relays.map(({ queue }) => waitingComments(queue)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(450);
    expect(await pendingRows("relays")).toBe(0);
  });

  it("hands back a batch the queue refuses, and the next flush queues it", async () => {
    await schedule(30, "refused");
    const down = new OutboxRelay(database.dataSource, openQueue(true), log);
    await expect(down.flush()).rejects.toThrow();
    expect(await pendingRows("refused")).toBe(30);
    const up = openQueue();
    await new OutboxRelay(database.dataSource, up, log).flush();
    expect(await waitingComments(up)).toBe(30);
    expect(await pendingRows("refused")).toBe(0);
  });
});
