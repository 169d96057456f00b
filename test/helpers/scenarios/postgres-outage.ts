import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { appProcessEnv, bootstrapOrganization, PROCESS_WEBHOOK_SECRET } from "../app-processes.js";
import { tasksByIssue, waitForProcessed } from "../delivery-progress.js";
import { reportFigures } from "../figures.js";
import { issueOpened, signedDelivery, type SignedRequest } from "../github-events.js";
import type { GitHubServer } from "../github-server.js";
import { openProcessBed, type ProcessBed } from "../process-bed.js";
import { post, sendPaced, type Answer } from "../http-client.js";
import { httpStatus, startApp, type AppProcess, type ChildProcesses } from "../processes.js";
import { createRedisPrefix, TEST_DATABASE_URL, TEST_REDIS_URL, type TestDatabase } from "../services.js";
import { TcpProxy } from "../tcp-proxy.js";

export interface PostgresOutageSize {
  deliveries: number;
  sendWindowMs: number;
  concurrency: number;
  /** PostgreSQL stays unreachable at least this long, from when 30% of the burst was answered. */
  outageMs: number;
  drainMs: number;
}

/** A connection pooler put between the app's processes and the proxy that is cut. */
export interface PostgresOutagePooler {
  /** In the test's name: "through PgBouncer". */
  label: string;
  /** Starts the pooler in front of `server`; resolves with the port the app connects to and how to stop it. */
  start(children: ChildProcesses, logDir: string, server: { host: string; port: number }): Promise<{ port: number; stop(): Promise<void> }>;
}

const OWNER = "outage-corp";
const REPOSITORY = `${OWNER}/outage`;
const INSTALLATION = 9_200_001;

interface Sent {
  request: SignedRequest;
  number: number;
  answer: Answer;
  /** When the answer came, relative to the start of the burst. */
  atMs: number;
}

/**
 * A burst of deliveries to a real web process (and one worker) whose connection to PostgreSQL goes
 * through a proxy that is cut in the middle: the receiver answers 503 while it cannot store, never
 * 2xx for a delivery it did not store, and once PostgreSQL is back every stored delivery is processed.
 * The 503s are then sent again, as GitHub's redelivery would, and nothing is lost.
 */
export function describePostgresOutage(size: PostgresOutageSize, pooler?: PostgresOutagePooler): void {
  describe(`${size.deliveries} deliveries while PostgreSQL is unreachable for a while${pooler ? ` ${pooler.label}` : ""}`, () => {
    let bed: ProcessBed;
    let logDir: string;
    let children: ChildProcesses;
    let database: TestDatabase;
    let pool: pg.Pool;
    let proxy: TcpProxy;
    let github: GitHubServer;
    let web: AppProcess;
    let runningPooler: { port: number; stop(): Promise<void> } | undefined;
    const redis = createRedisPrefix("pg_outage");

    beforeAll(async () => {
      bed = await openProcessBed("pg_outage");
      ({ logDir, children, github, database, pool } = bed);
      const server = new URL(TEST_DATABASE_URL);
      proxy = new TcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
      await proxy.start();
      // The pooler (if any) stays up while the proxy behind it is cut, as PostgreSQL would go away behind it.
      runningPooler = pooler ? await pooler.start(children, logDir, { host: "127.0.0.1", port: proxy.port }) : undefined;
      const throughProxy = new URL(database.url);
      throughProxy.host = `127.0.0.1:${runningPooler?.port ?? proxy.port}`;
      const env = appProcessEnv({ databaseUrl: throughProxy.toString(), redisUrl: TEST_REDIS_URL, queuePrefix: redis.prefix }, {
        ...github.env,
        SWEEP_INTERVAL_MS: "500",
        STALE_DELIVERY_MS: "4000",
        JOB_BACKOFF_MS: "200",
        JOB_ATTEMPTS: "12",
      });
      [, web] = await Promise.all([
        bootstrapOrganization({ ...env, DATABASE_URL: database.url }, logDir, "outage", OWNER),
        startApp(children, "web", "web", env),
        startApp(children, "worker", "worker", env),
      ]);
    }, 180_000);

    afterAll(async () => {
      await proxy?.restore();
      await runningPooler?.stop();
      await bed?.close();
      await proxy?.close();
      await redis.clean();
    }, 60_000);

    it("answers 503 while it cannot store, 2xx only for what it stored, and processes all of it afterwards", async () => {
      const burst = Array.from({ length: size.deliveries }, (_, i) => ({
        number: i + 1,
        request: signedDelivery(PROCESS_WEBHOOK_SECRET, "issues",
          issueOpened({ owner: OWNER, repo: "outage", number: i + 1, title: `Outage issue ${i + 1}`, installationId: INSTALLATION, labels: [] })),
      }));
      const started = Date.now();
      let answered = 0;
      let unavailable = 0;
      const outage: { cutMs?: number; restoredMs?: number; healthDuringCut?: number } = {};
      const faults = (async () => {
        while (answered < size.deliveries * 0.3) await sleep(20);
        await proxy.cut();
        outage.cutMs = Date.now() - started;
        outage.healthDuringCut = await httpStatus(web.port, "/api/v1/health");
        // Long enough to be seen, but never past the end of the burst's traffic.
        while ((Date.now() - started < outage.cutMs + size.outageMs || unavailable === 0) && answered < size.deliveries * 0.8) await sleep(20);
        await proxy.restore();
        outage.restoredMs = Date.now() - started;
      })();
      const sent: Sent[] = await sendPaced(burst, { concurrency: size.concurrency, windowMs: size.sendWindowMs }, async (item) => {
        const answer = await post(web.port, "/api/github/webhooks", item.request.headers, item.request.payload);
        answered += 1;
        if (answer.status === 503) unavailable += 1;
        return { ...item, answer, atMs: Date.now() - started };
      });
      await faults;

      const accepted = sent.filter((s) => s.answer.status >= 200 && s.answer.status < 300);
      const refused = sent.filter((s) => s.answer.status === 503);
      const otherErrors = sent.filter((s) => s.answer.status !== 503 && (s.answer.status >= 300 || s.answer.status < 200));
      const storedIds = async () => new Set((await pool.query<{ github_delivery_id: string }>("SELECT github_delivery_id FROM webhook_deliveries")).rows.map((r) => r.github_delivery_id));
      const storedAfterBurst = await storedIds();
      const acceptedButMissing = accepted.filter((s) => !storedAfterBurst.has(s.request.deliveryId));
      const storedDespite503 = refused.filter((s) => storedAfterBurst.has(s.request.deliveryId));
      const acceptedAfterRestore = accepted.filter((s) => s.atMs > outage.restoredMs!);

      // Every stored delivery is processed once PostgreSQL is back.
      await waitForProcessed(pool, storedAfterBurst.size, size.drainMs, () => children.check());
      const processedMs = Date.now() - started;

      // GitHub shows the 503s as failed deliveries; redelivered with the same ids, they are taken.
      const redelivered = await sendPaced(refused, { concurrency: size.concurrency, windowMs: 0 }, (s) =>
        post(web.port, "/api/github/webhooks", s.request.headers, s.request.payload));
      await waitForProcessed(pool, size.deliveries, size.drainMs, () => children.check());
      const tasks = await tasksByIssue(pool, REPOSITORY);
      const taskRows = [...tasks.values()].reduce((sum, n) => sum + n, 0);

      reportFigures("postgres-outage", {
        sent: size.deliveries, answered_2xx: accepted.length, answered_503: refused.length, other_non_2xx: otherErrors.length,
        stored_after_burst: storedAfterBurst.size, accepted_but_not_stored: acceptedButMissing.length, stored_despite_503: storedDespite503.length,
        accepted_after_restore: acceptedAfterRestore.length, health_during_cut: outage.healthDuringCut ?? 0,
        redelivered: redelivered.length, tasks: taskRows, duplicate_tasks: taskRows - tasks.size, lost: size.deliveries - tasks.size,
        cut_at_ms: outage.cutMs ?? 0, restored_at_ms: outage.restoredMs ?? 0, burst_processed_ms: processedMs, all_processed_ms: Date.now() - started,
      });

      expect(otherErrors.map((s) => `${s.answer.status} ${s.answer.error ?? s.answer.body}`)).toEqual([]);
      expect(refused.length).toBeGreaterThan(0);
      expect(acceptedAfterRestore.length).toBeGreaterThan(0);
      for (const s of refused) {
        expect(JSON.parse(s.answer.body)).toEqual({ error: { code: "database_unavailable", message: expect.any(String) } });
        expect(s.answer.headers["retry-after"]).toBeDefined();
      }
      expect(outage.healthDuringCut).toBe(503);
      // Nothing answered 2xx that is not stored; a stored delivery answered 503 is one whose commit's answer the cut lost.
      expect(acceptedButMissing.map((s) => s.request.deliveryId)).toEqual([]);
      expect(storedAfterBurst.size).toBe(accepted.length + storedDespite503.length);

      expect(redelivered.filter((a) => a.status !== 202 && a.status !== 200)).toEqual([]);
      expect(redelivered.filter((a) => a.status === 200)).toHaveLength(storedDespite503.length);
      expect([...tasks].filter(([, n]) => n > 1)).toEqual([]);
      expect(tasks.size).toBe(size.deliveries);
      expect(github.unexpected).toEqual([]);
    }, size.sendWindowMs + 2 * size.drainMs + 120_000);
  });
}

