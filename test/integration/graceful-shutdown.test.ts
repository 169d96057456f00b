import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { appProcessEnv, bootstrapOrganization, PROCESS_WEBHOOK_SECRET } from "../helpers/app-processes.js";
import { tasksByIssue, waitForProcessed } from "../helpers/delivery-progress.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import type { GitHubServer } from "../helpers/github-server.js";
import { post, sendPaced, type Answer } from "../helpers/http-client.js";
import { openProcessBed, type ProcessBed } from "../helpers/process-bed.js";
import { startApp, type AppProcess, type ChildProcesses } from "../helpers/processes.js";
import { createRedisPrefix, TEST_REDIS_URL } from "../helpers/services.js";

const OWNER = "shutdown-corp";
const DELIVERIES = 300;

let bed: ProcessBed;
let children: ChildProcesses;
let pool: pg.Pool;
let github: GitHubServer;
const redis = createRedisPrefix("graceful_shutdown");
let webs: AppProcess[];
let workers: AppProcess[];

beforeAll(async () => {
  bed = await openProcessBed("graceful_shutdown");
  ({ children, pool, github } = bed);
  const env = appProcessEnv({ databaseUrl: bed.database.url, redisUrl: TEST_REDIS_URL, queuePrefix: redis.prefix }, { ...github.env, JOB_BACKOFF_MS: "100" });
  await bootstrapOrganization(env, bed.logDir, "shutdown", OWNER);
  webs = await Promise.all([startApp(children, "web-1", "web", env), startApp(children, "web-2", "web", env)]);
  workers = await Promise.all([startApp(children, "worker-1", "worker", env), startApp(children, "worker-2", "worker", env)]);
}, 180_000);

afterAll(async () => {
  await bed?.close();
  await redis.clean();
}, 60_000);

describe("SIGTERM", () => {
  it("lets a web and a worker process finish what they took, exit 0, and lose or repeat nothing", async () => {
    const requests = Array.from({ length: DELIVERIES }, (_, i) =>
      signedDelivery(PROCESS_WEBHOOK_SECRET, "issues", issueOpened({ owner: OWNER, repo: "app", number: i + 1, installationId: 7_300_001, labels: [] })));
    let sent = 0;
    let target = webs[0]!;
    const fromFirst: Answer[] = [];
    const stopped: Promise<number | null>[] = [];
    const faults = (async () => {
      while (sent < DELIVERIES * 0.3) await sleep(10);
      // A load balancer stops sending to a process it drains; what was already on its way still arrives.
      const draining = webs[0]!;
      target = webs[1]!;
      stopped.push(children.stop(draining, 20_000).then(() => draining.exited));
      while (sent < DELIVERIES * 0.6) await sleep(10);
      stopped.push(children.stop(workers[0]!, 20_000).then(() => workers[0]!.exited));
    })();
    const answers = await sendPaced(requests, { concurrency: 16, windowMs: 4000 }, async (request) => {
      sent += 1;
      const port = target.port;
      let answer = await post(port, "/api/github/webhooks", request.headers, request.payload);
      if (port === webs[0]!.port) fromFirst.push(answer);
      // Refused or 503 while closing: nothing was stored, so the sender tries again (GitHub's Redeliver).
      if (answer.status === 0 || answer.status === 503) answer = await post(webs[1]!.port, "/api/github/webhooks", request.headers, request.payload);
      return answer;
    });
    await faults;
    const [webExit, workerExit] = await Promise.all(stopped);
    await waitForProcessed(pool, DELIVERIES, 90_000);

    const rows = (await pool.query<{ github_delivery_id: string; status: string }>("SELECT github_delivery_id, status FROM webhook_deliveries")).rows;
    const tasks = await tasksByIssue(pool, `${OWNER}/app`);
    expect({ webExit, workerExit }).toEqual({ webExit: 0, workerExit: 0 });
    expect(answers.filter((a) => a.status !== 202).map((a) => `${a.status} ${a.error ?? a.body}`)).toEqual([]);
    // The draining process answered what it took; whatever it answered 2xx is stored.
    expect(fromFirst.length).toBeGreaterThan(0);
    expect(fromFirst.filter((a) => a.status !== 202 && a.status !== 503 && a.status !== 0)).toEqual([]);
    const stored = new Set(rows.map((r) => r.github_delivery_id));
    expect(requests.filter((r) => !stored.has(r.deliveryId))).toEqual([]);
    expect(rows).toHaveLength(DELIVERIES);
    expect(rows.filter((r) => r.status !== "processed")).toEqual([]);
    expect(tasks.size).toBe(DELIVERIES);
    expect([...tasks.values()].filter((n) => n > 1)).toEqual([]);
    expect([...github.repeatedComments()]).toEqual([]);
  }, 240_000);
});
