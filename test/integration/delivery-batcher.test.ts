import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { openDatabase, type Database } from "../../src/db/data-source.js";
import { APP_RECEIVER } from "../../src/db/entities/delivery.js";
import { sql } from "../../src/db/sql.js";
import type { NewDelivery } from "../../src/domain/deliveries.js";
import { DeliveryBatcher } from "../../src/ingress/delivery-batcher.js";
import { createLogger } from "../../src/log.js";
import { BullmqQueue } from "../../src/queue/bullmq-queue.js";
import { Queue } from "bullmq";
import { DEFAULT_RETRY, deliveryJobId, type JobPayloads } from "../../src/domain/jobs.js";
import { jobDeliveries } from "../../src/queue/workers/process-delivery.js";
import { issueOpened } from "../helpers/github-events.js";
import { testRandom } from "../helpers/random.js";
import { createRedisPrefix, createTestDatabase, TEST_REDIS_URL, type TestDatabase } from "../helpers/services.js";

const log = createLogger("silent");
const redis = createRedisPrefix("delivery_batcher");
let testDb: TestDatabase;
let database: Database;
let queue: BullmqQueue;

beforeAll(async () => {
  testDb = await createTestDatabase("delivery_batcher");
  database = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent" });
  queue = new BullmqQueue({ redisUrl: TEST_REDIS_URL, prefix: redis.prefix, settings: { defaultRetry: DEFAULT_RETRY, retry: {} }, log });
});
afterAll(async () => {
  await queue?.close(1000);
  await database?.close();
  await testDb?.drop();
  await redis.clean();
});

/** The process-delivery jobs waiting in Redis, with their payloads. */
async function waitingDeliveryJobs(): Promise<{ id?: string; data: JobPayloads["process-delivery"] }[]> {
  const reader = new Queue("process-delivery", { connection: { url: TEST_REDIS_URL }, prefix: redis.prefix });
  try {
    return await reader.getWaiting();
  } finally {
    await reader.close();
  }
}

/** A delivery as ingest records it: the parsed payload, and the text it was parsed from. */
function delivery(githubDeliveryId: string, number: number, receiver = APP_RECEIVER): NewDelivery {
  const payload = issueOpened({ owner: "acme-corp", number, installationId: 5 });
  return { receiver, webhookId: null, orgId: null, githubDeliveryId, event: "issues", payload, payloadJson: JSON.stringify(payload) };
}

describe("deliveries stored together", () => {
  it("store each delivery id once per receiver, whatever arrives in the same batch, and queue each new one once, in one job per batch", async () => {
    const batcher = new DeliveryBatcher(database.dataSource, queue, log, { maxRows: 16, maxInFlight: 2 });
    const ids = Array.from({ length: 120 }, () => randomUUID());
    // Every id once, 40 of them a second time at the same moment, and 10 of them to a second receiver as well.
    const other = randomUUID();
    const inputs = testRandom().shuffle([
      ...ids.map((id, i) => delivery(id, i + 1)),
      ...ids.slice(0, 40).map((id, i) => delivery(id, i + 1)),
      ...ids.slice(0, 10).map((id, i) => delivery(id, i + 1, other)),
    ]);
    const answers = await Promise.all(inputs.map((input) => batcher.record(input)));

    const rows = (await sql<{ id: string; receiver: string; github_delivery_id: string }>(database.dataSource,
      "SELECT id, receiver, github_delivery_id FROM webhook_deliveries")).rows;
    expect(rows).toHaveLength(130);
    const rowId = new Map(rows.map((r) => [`${r.receiver} ${r.github_delivery_id}`, r.id]));
    inputs.forEach((input, i) => expect(answers[i]!.id).toBe(rowId.get(`${input.receiver} ${input.githubDeliveryId}`)));
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(130);
    expect(answers.filter((a) => a.duplicate)).toHaveLength(40);
    expect(new Set(answers.filter((a) => !a.duplicate).map((a) => a.id)).size).toBe(130);
    // One job per stored batch, naming each new delivery once, in one job only.
    const jobs = await waitingDeliveryJobs();
    expect(jobs.length).toBe((await queue.counts())["process-delivery"].waiting);
    expect(jobs.length).toBeLessThan(130);
    const queued = jobs.flatMap((job) => jobDeliveries(job.data));
    expect(queued.sort()).toEqual(answers.filter((a) => !a.duplicate).map((a) => a.id).sort());
    for (const job of jobs) expect(job.id).toBe(deliveryJobId(job.data.deliveryId));
    // Rows one INSERT stored share its transaction's id (xmin): batches of at most 16, far fewer transactions than rows
    // (one INSERT per delivery would make 130); how full each batch gets depends on the machine's load.
    const batches = (await sql<{ rows: number }>(database.dataSource,
      "SELECT count(*)::integer AS rows FROM webhook_deliveries GROUP BY xmin::text")).rows.map((r) => r.rows);
    expect(batches.length).toBeLessThan(rows.length / 3);
    expect(Math.max(...batches)).toBeLessThanOrEqual(16);
  });

  it("answer a delivery the database refuses with its own error, and store the others of its batch", async () => {
    const batcher = new DeliveryBatcher(database.dataSource, queue, log, { maxRows: 64, maxInFlight: 1 });
    const good = Array.from({ length: 9 }, (_, i) => delivery(randomUUID(), 500 + i));
    // A webhook id that is no uuid: the database refuses this one row.
    const bad = { ...delivery(randomUUID(), 600), webhookId: "not-a-uuid" };
    const settled = await Promise.allSettled([...good.slice(0, 4), bad, ...good.slice(4)].map((input) => batcher.record(input)));
    expect(settled.map((s) => s.status)).toEqual([...Array(4).fill("fulfilled"), "rejected", ...Array(5).fill("fulfilled")]);
    const stored = (await sql<{ github_delivery_id: string }>(database.dataSource,
      "SELECT github_delivery_id FROM webhook_deliveries WHERE github_delivery_id = ANY($1)", [[...good, bad].map((d) => d.githubDeliveryId)])).rows;
    expect(stored.map((r) => r.github_delivery_id).sort()).toEqual(good.map((d) => d.githubDeliveryId).sort());
  });

  it("store a payload with U+0000, which jsonb cannot hold, with U+FFFD in its place", async () => {
    const batcher = new DeliveryBatcher(database.dataSource, queue, log, { maxRows: 64, maxInFlight: 1 });
    const nul = delivery(randomUUID(), 700);
    (nul.payload.issue as { body: string }).body = "nul \u0000 byte";
    nul.payloadJson = JSON.stringify(nul.payload);
    const others = Array.from({ length: 3 }, (_, i) => delivery(randomUUID(), 701 + i));
    const answers = await Promise.all([others[0]!, nul, ...others.slice(1)].map((input) => batcher.record(input)));
    expect(answers.map((a) => a.duplicate)).toEqual([false, false, false, false]);
    const row = (await sql<{ payload: { issue: { body: string } }; payload_summary: unknown }>(database.dataSource,
      "SELECT payload, payload_summary FROM webhook_deliveries WHERE id = $1", [answers[1]!.id])).rows[0]!;
    expect(row.payload.issue.body).toBe("nul \uFFFD byte");
  });

  it("store the payload's text as it arrived, a number JavaScript cannot hold exactly included", async () => {
    const batcher = new DeliveryBatcher(database.dataSource, queue, log, { maxRows: 64, maxInFlight: 1 });
    const input = delivery(randomUUID(), 800);
    input.payloadJson = input.payloadJson!.replace(/^\{/, '{"big": 12345678901234567890, ');
    const answer = await batcher.record(input);
    const row = (await sql<{ big: string }>(database.dataSource, "SELECT payload->>'big' AS big FROM webhook_deliveries WHERE id = $1", [answer.id])).rows[0]!;
    expect(row.big).toBe("12345678901234567890");
  });
});
