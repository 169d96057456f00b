import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { loadConfig } from "../../../src/config.js";
import { createRedisClient } from "../../../src/queue/redis-client.js";
import { appProcessEnv, bootstrapOrganization, PROCESS_WEBHOOK_SECRET } from "../app-processes.js";
import { tasksByIssue, waitForProcessed } from "../delivery-progress.js";
import { reportFigures } from "../figures.js";
import { issueOpened, signedDelivery } from "../github-events.js";
import type { GitHubServer } from "../github-server.js";
import { openProcessBed, type ProcessBed } from "../process-bed.js";
import { post, sendPaced, type Answer } from "../http-client.js";
import { startApp, type AppProcess, type ChildProcesses } from "../processes.js";
import { testRandom } from "../random.js";
import { startRedisServer, type RedisServer } from "../redis-server.js";
import type { TestDatabase } from "../services.js";
import { waitFor } from "../wait.js";

export interface CrashRestartSize {
  /** Requests sent, duplicates included. */
  deliveries: number;
  /** Their starts are spread over this long, so the faults land in the middle of the traffic. */
  sendWindowMs: number;
  concurrency: number;
  /** How long every delivery may take to be processed once the last one was answered. */
  drainMs: number;
}

/** The services the app processes use, where a test wants others than a redis-server of its own and the test database. */
export interface CrashRestartServices {
  /** In the test's name: "on a Redis Cluster". */
  label?: string;
  /** Its Redis; the scenario restarts it halfway. */
  redis?: (children: ChildProcesses, logDir: string) => Promise<{ url: string; restart(): Promise<void> }>;
  /** The URL the app's processes get for the test's database (through a connection pooler, say). */
  databaseUrl?: (children: ChildProcesses, logDir: string, database: TestDatabase) => Promise<string>;
}

const OWNER = "chaos-corp";
const REPOSITORY = `${OWNER}/chaos`;
const INSTALLATION = 9_100_001;
const DUPLICATE_SHARE = 0.1;
const QUEUE_PREFIX = "crash";

interface Planned {
  deliveryId: string;
  headers: Record<string, string>;
  body: string;
}

/** Every issue once, 10% of them again with the same X-GitHub-Delivery id, in random order. */
function plan(total: number): { requests: Planned[]; distinct: number } {
  const duplicates = Math.round(total * DUPLICATE_SHARE);
  const distinct = total - duplicates;
  const originals: Planned[] = Array.from({ length: distinct }, (_, i) => {
    const number = i + 1;
    const signed = signedDelivery(PROCESS_WEBHOOK_SECRET, "issues",
      issueOpened({ owner: OWNER, repo: "chaos", number, title: `Chaos issue ${number}`, installationId: INSTALLATION, labels: [] }));
    return { deliveryId: signed.deliveryId, headers: signed.headers, body: signed.payload };
  });
  const random = testRandom();
  const again = random.shuffle(originals).slice(0, duplicates);
  const requests = random.shuffle([...originals, ...again]);
  return { requests, distinct };
}

/**
 * N deliveries to the App endpoint of a real web process, 10% of them sent twice, while one of two
 * worker processes is killed with SIGKILL and started again and Redis restarts (losing every job):
 * exactly one task per issue, every delivery processed, no 5xx.
 */
export function describeCrashAndRestart(size: CrashRestartSize, services: CrashRestartServices = {}): void {
  describe(`${size.deliveries} deliveries while a worker is killed and Redis restarts${services.label ? ` ${services.label}` : ""}`, () => {
    let bed: ProcessBed;
    let logDir: string;
    let children: ChildProcesses;
    let redis: Pick<RedisServer, "url" | "restart">;
    let database: TestDatabase;
    let pool: pg.Pool;
    let github: GitHubServer;
    let env: Record<string, string>;
    let web: AppProcess;
    let workers: AppProcess[] = [];

    beforeAll(async () => {
      bed = await openProcessBed("crash_restart");
      ({ logDir, children, github, database, pool } = bed);
      redis = services.redis ? await services.redis(children, logDir) : await startRedisServer(children);
      const databaseUrl = services.databaseUrl ? await services.databaseUrl(children, logDir, database) : database.url;
      env = appProcessEnv({ databaseUrl, redisUrl: redis.url, queuePrefix: QUEUE_PREFIX }, {
        ...github.env,
        SWEEP_INTERVAL_MS: "500",
        STALE_DELIVERY_MS: "4000",
        JOB_BACKOFF_MS: "100",
        JOB_ATTEMPTS: "10",
      });
      // Migrations run once under an advisory lock, whichever process gets there first.
      [, web, ...workers] = await Promise.all([
        bootstrapOrganization(env, logDir, "chaos", OWNER),
        startApp(children, "web", "web", env),
        startApp(children, "worker-1", "worker", env),
        startApp(children, "worker-2", "worker", env),
      ]);
    }, 180_000);

    afterAll(async () => {
      await bed?.close();
    }, 60_000);

    it("makes exactly one task per issue and processes every delivery", async () => {
      const { requests, distinct } = plan(size.deliveries);
      let answered = 0;
      const reached = async (share: number) => {
        while (answered < requests.length * share) await sleep(20);
      };
      const started = Date.now();
      const faultTimes: Record<string, number> = {};
      // The faults, each once the traffic has got that far.
      const faults = (async () => {
        await reached(0.25);
        faultTimes.worker_killed_ms = Date.now() - started;
        await children.kill(workers[0]!);
        await reached(0.45);
        faultTimes.redis_down_ms = Date.now() - started;
        await redis.restart();
        faultTimes.redis_up_ms = Date.now() - started;
        await reached(0.65);
        workers[0] = await startApp(children, "worker-1-restarted", "worker", env);
        faultTimes.worker_restarted_ms = Date.now() - started;
      })();
      const answers = await sendPaced(requests, { concurrency: size.concurrency, windowMs: size.sendWindowMs }, async (request): Promise<Answer> => {
        const answer = await post(web.port, "/api/github/webhooks", request.headers, request.body);
        answered += 1;
        return answer;
      });
      await faults;
      const sentMs = Date.now() - started;

      await waitForProcessed(pool, distinct, size.drainMs, () => children.check());
      const settledMs = Date.now() - started;

      const byStatus = count(answers.map((a) => a.status));
      const serverErrors = answers.filter((a) => a.status >= 500).length;
      const noAnswer = answers.filter((a) => a.status === 0);
      const tasks = await tasksByIssue(pool, REPOSITORY);
      const taskRows = [...tasks.values()].reduce((sum, n) => sum + n, 0);
      const lost = Array.from({ length: distinct }, (_, i) => i + 1).filter((n) => !tasks.has(n));
      const duplicated = [...tasks].filter(([, n]) => n > 1);
      const rows = (await pool.query<{ github_delivery_id: string; status: string; task_id: number | null }>(
        "SELECT github_delivery_id, status, task_id FROM webhook_deliveries")).rows;

      // Comment jobs Redis lost in its restart are queued again from the outbox once overdue (STALE_DELIVERY_MS).
      // Octokit spaces comments out (one every few seconds per process), so most are still waiting here.
      const missing = await waitFor(async () => {
        const n = await commentJobsMissing(pool, redis.url, QUEUE_PREFIX);
        return n === 0 ? n : undefined;
      }, 30_000, "no comment job missing from Redis").catch(() => commentJobsMissing(pool, redis.url, QUEUE_PREFIX));
      reportFigures("crash-and-restart", {
        sent: requests.length, distinct, answered_202: byStatus.get(202) ?? 0, answered_200_duplicate: byStatus.get(200) ?? 0,
        "5xx": serverErrors, no_answer: noAnswer.length, tasks: taskRows, duplicate_tasks: taskRows - tasks.size, lost: lost.length,
        deliveries_stored: rows.length, processed: rows.filter((r) => r.status === "processed").length, comments: github.comments.length,
        repeated_comments: github.repeatedComments().size, comment_jobs_missing: missing, send_ms: sentMs, all_processed_ms: settledMs,
        ...faultTimes,
      });

      expect(noAnswer.map((a) => a.error)).toEqual([]);
      expect(serverErrors).toBe(0);
      expect(byStatus.get(202)).toBe(distinct);
      expect(byStatus.get(200)).toBe(requests.length - distinct);
      for (const a of answers.filter((x) => x.status === 200)) expect(JSON.parse(a.body)).toMatchObject({ duplicate: true });

      expect(rows).toHaveLength(distinct);
      expect(new Set(rows.map((r) => r.github_delivery_id))).toEqual(new Set(requests.map((r) => r.deliveryId)));
      expect(rows.filter((r) => r.status !== "processed" || r.task_id === null)).toEqual([]);
      expect(lost).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(taskRows).toBe(distinct);
      expect(missing).toBe(0);
      expect([...github.repeatedComments()]).toEqual([]);
      expect(github.unexpected).toEqual([]);
    }, size.drainMs + size.sendWindowMs + 120_000);
  });
}

function count<T>(values: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** Comment jobs handed to Redis that have not finished and that Redis no longer holds: nothing would run them. */
async function commentJobsMissing(pool: pg.Pool, redisUrl: string, prefix: string): Promise<number> {
  const pending = (await pool.query<{ job_id: string }>(
    "SELECT job_id FROM job_outbox WHERE job_name = 'github-comment' AND enqueued_at IS NOT NULL AND finished_at IS NULL")).rows;
  // One connection, no reconnecting in the background, its errors answered by the commands that fail.
  const redis = createRedisClient(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  // BullMQ's prefix as the app makes it from QUEUE_PREFIX (in a hash tag on a cluster).
  const { queuePrefix } = loadConfig({ REDIS_URL: redisUrl, QUEUE_PREFIX: prefix });
  try {
    await redis.connect();
    let missing = 0;
    for (const { job_id } of pending) if (!(await redis.exists(`${queuePrefix}:github-comment:${job_id}`))) missing += 1;
    return missing;
  } finally {
    redis.disconnect();
  }
}
