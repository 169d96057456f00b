import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import type { Cluster } from "ioredis";
import { loadConfig } from "../../src/config.js";
import { RateLimitedError } from "../../src/domain/errors.js";
import { limitRate } from "../../src/http/rate-limit.js";
import { BullmqQueue } from "../../src/queue/bullmq-queue.js";
import { RetryLaterError } from "../../src/queue/queue.js";
import { createRedisClient } from "../../src/queue/redis-client.js";
import { ChildProcesses } from "../helpers/processes.js";
import { startRedisCluster, type RedisCluster } from "../helpers/redis-cluster.js";
import { describeCrashAndRestart } from "../helpers/scenarios/crash-restart.js";
import { waitFor } from "../helpers/wait.js";

describe("BullMQ and the rate limiter on a three-master Redis Cluster", () => {
  let logDir: string;
  let children: ChildProcesses;
  let cluster: RedisCluster;
  let inspector: Cluster;

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(tmpdir(), "entourage-redis-cluster-"));
    children = new ChildProcesses(logDir);
    cluster = await startRedisCluster(children, logDir);
    inspector = createRedisClient(cluster.url) as Cluster;
  }, 60_000);

  afterAll(async () => {
    inspector?.disconnect();
    await children?.stopAll(5000);
    rmSync(logDir, { recursive: true, force: true });
  });

  /** Every key under a prefix, from every master. */
  async function keys(pattern: string): Promise<string[]> {
    const found = await Promise.all(inspector.nodes("master").map((node) => node.keys(pattern)));
    return found.flat();
  }

  it("keeps a queue's keys in one slot under {QUEUE_PREFIX}, and runs, retries and delays its jobs", async () => {
    const { queuePrefix } = loadConfig({ REDIS_URL: cluster.url, QUEUE_PREFIX: "contract" });
    expect(queuePrefix).toBe("{contract}");
    const queue = new BullmqQueue({ redisUrl: cluster.url, prefix: queuePrefix, settings: { defaultRetry: { attempts: 3, backoffMs: 20 }, retry: {} } });
    try {
      const runs: string[] = [];
      let retried = false;
      await queue.work({
        "process-delivery": async ({ deliveryId }) => {
          if (deliveryId === "later" && !retried) {
            retried = true;
            throw new RetryLaterError(50);
          }
          runs.push(deliveryId);
        },
      }, { concurrency: 4 });
      await queue.addBulk("process-delivery", Array.from({ length: 20 }, (_, i) => ({ payload: { deliveryId: `d${i}` }, options: { jobId: `job-${i}` } })));
      await queue.add("process-delivery", { deliveryId: "later" }, { jobId: "job-later", delayMs: 100 });
      await queue.add("process-delivery", { deliveryId: "d0" }, { jobId: "job-0" });
      await waitFor(async () => runs.length >= 21 && (await queue.counts())["process-delivery"].delayed === 0, 15_000, "every job to run");
      expect(runs.filter((id) => id === "later")).toHaveLength(1);
      expect(await queue.ping()).toBe(true);

      const queueKeys = await keys("{contract}:*");
      expect(queueKeys.length).toBeGreaterThan(0);
      const slots = new Set(await Promise.all(queueKeys.map((key) => inspector.cluster("KEYSLOT", key))));
      expect(slots.size).toBe(1);
    } finally {
      await queue.close(2000);
    }
  });

  it("counts each client's requests in a key of its own and answers 429 past the limit", async () => {
    const app: FastifyInstance = Fastify();
    const limiter = await limitRate(app, { max: 3, windowMs: 60_000, redisUrl: cluster.url, prefix: "limits" });
    app.addHook("onRequest", limiter.beforeAuthentication);
    app.setErrorHandler((error, _request, reply) => reply.status(error instanceof RateLimitedError ? 429 : 500).send({ error: String(error) }));
    app.get("/", async () => ({ ok: true }));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await app.inject({ method: "GET", url: "/", remoteAddress: "10.1.2.3" })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect((await app.inject({ method: "GET", url: "/", remoteAddress: "10.9.9.9" })).statusCode).toBe(200);
      expect((await keys("limits:rate:*")).sort()).toEqual([expect.stringContaining("10.1.2.3"), expect.stringContaining("10.9.9.9")]);
    } finally {
      await app.close();
      limiter.redis?.disconnect();
    }
  });
});

// The crash-and-restart scenario of crash-restart.test.ts, its Redis a three-master cluster (REDIS_URL=redis+cluster://…).
describeCrashAndRestart(
  { deliveries: 200, sendWindowMs: 5000, concurrency: 16, drainMs: 90_000 },
  { label: "on a Redis Cluster", redis: (children, logDir) => startRedisCluster(children, logDir) },
);
