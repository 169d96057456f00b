import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { openDatabase, type Database } from "../../src/db/data-source.js";
import { sql } from "../../src/db/sql.js";
import { DEFAULT_RETRY } from "../../src/domain/jobs.js";
import { scheduleJob } from "../../src/domain/outbox.js";
import { createLogger } from "../../src/log.js";
import { BullmqQueue } from "../../src/queue/bullmq-queue.js";
import { OutboxRelay } from "../../src/queue/outbox-relay.js";
import { createRedisPrefix, createTestDatabase, TEST_REDIS_URL, type TestDatabase } from "../helpers/services.js";

// Nothing listens on port 1: a queue there refuses every job.
const CLOSED_PORT_URL = "redis://127.0.0.1:1";
const log = createLogger("silent");
const redis = createRedisPrefix("outbox_relay");
let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDb = await createTestDatabase("outbox_relay");
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
  await sql(database.dataSource, "DELETE FROM job_outbox");
});

function openQueue(redisUrl = TEST_REDIS_URL): BullmqQueue {
  const queue = new BullmqQueue({
    redisUrl, prefix: `${redis.prefix}:q${++queues}`, settings: { defaultRetry: DEFAULT_RETRY, retry: {} }, log, enqueueTimeoutMs: 500,
  });
  opened.push(queue);
  return queue;
}

async function schedule(count: number): Promise<void> {
  for (let taskId = 1; taskId <= count; taskId += 1) {
    await scheduleJob(database.dataSource, "github-comment", { taskId, kind: "tracked" }, { jobId: `comment-${taskId}-relay` });
  }
}

const waiting = async (queue: BullmqQueue) => (await queue.counts())["github-comment"].waiting;
const pendingRows = async () => Number((await sql<{ n: string }>(database.dataSource, "SELECT count(*) AS n FROM job_outbox WHERE enqueued_at IS NULL")).rows[0]!.n);

describe("the outbox relay", () => {
  it("queues each scheduled job once when several relays flush at the same time", async () => {
    await schedule(450);
    // Each relay feeds a queue of its own: a row taken by two relays would show in two queues.
    const relays = [openQueue(), openQueue(), openQueue()].map((queue) => ({ queue, relay: new OutboxRelay(database.dataSource, queue, log) }));
    await Promise.all(relays.flatMap(({ relay }) => [relay.flush(), relay.flush()]));
    const counts = await Promise.all(relays.map(({ queue }) => waiting(queue)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(450);
    expect(await pendingRows()).toBe(0);
  });

  it("hands back a batch the queue refuses, and the next flush queues it", async () => {
    await schedule(30);
    const down = new OutboxRelay(database.dataSource, openQueue(CLOSED_PORT_URL), log);
    await expect(down.flush()).rejects.toThrow();
    expect(await pendingRows()).toBe(30);
    const up = openQueue();
    await new OutboxRelay(database.dataSource, up, log).flush();
    expect(await waiting(up)).toBe(30);
    expect(await pendingRows()).toBe(0);
  });
});
