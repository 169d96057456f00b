import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { BullmqQueue } from "../../src/queue/bullmq-queue.js";
import type { RetryPolicy } from "../../src/domain/jobs.js";
import { MemoryQueue } from "../../src/queue/memory-queue.js";
import { PermanentJobError, RetryLaterError, type JobContext, type JobQueue, type QueueSettings } from "../../src/queue/queue.js";
import { createRedisPrefix, TEST_REDIS_URL } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const redis = createRedisPrefix("queue-contract");
let queuesOpened = 0;
const openQueues: JobQueue[] = [];

const adapters = [
  { kind: "memory", create: (settings: QueueSettings): JobQueue => new MemoryQueue({ settings }) },
  {
    kind: "bullmq",
    // A prefix per queue: each test starts from empty queues.
    create: (settings: QueueSettings): JobQueue =>
      new BullmqQueue({ redisUrl: TEST_REDIS_URL, prefix: `${redis.prefix}:q${++queuesOpened}`, settings }),
  },
];

afterEach(async () => {
  await Promise.all(openQueues.splice(0).map((queue) => queue.close(2000)));
});

afterAll(() => redis.clean());

/** A promise the test resolves when it wants. */
function gate(): { opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function deliveryCounts(queue: JobQueue) {
  return (await queue.counts())["process-delivery"];
}

async function idle(queue: JobQueue): Promise<boolean> {
  const counts = await deliveryCounts(queue);
  return counts.waiting + counts.active + counts.delayed === 0;
}

describe.each(adapters)("$kind queue", ({ create }) => {
  function openQueue(defaultRetry: RetryPolicy = { attempts: 3, backoffMs: 50 }, retry: QueueSettings["retry"] = {}): JobQueue {
    const queue = create({ defaultRetry, retry });
    openQueues.push(queue);
    return queue;
  }

  it("runs the handler with its payload, also for jobs added before work()", async () => {
    const queue = openQueue({ attempts: 3, backoffMs: 50 }, { "process-delivery": { attempts: 2, backoffMs: 50 } });
    const runs: { payload: unknown; context: JobContext }[] = [];
    await queue.add("process-delivery", { deliveryId: "before" }, { jobId: "job-before" });
    await queue.work({
      "process-delivery": async (payload, context) => {
        runs.push({ payload, context });
      },
    });
    await queue.add("process-delivery", { deliveryId: "after" }, { jobId: "job-after" });

    await waitFor(async () => runs.length === 2, 5000, "both jobs");
    expect(runs.sort((a, b) => a.context.jobId.localeCompare(b.context.jobId))).toEqual([
      { payload: { deliveryId: "after" }, context: { jobId: "job-after", attempt: 1, maxAttempts: 2, isLastAttempt: false } },
      { payload: { deliveryId: "before" }, context: { jobId: "job-before", attempt: 1, maxAttempts: 2, isLastAttempt: false } },
    ]);
  });

  it("adds a job id only once while it waits, also when added at the same time", async () => {
    const queue = openQueue();
    await queue.add("process-delivery", { deliveryId: "1" }, { jobId: "dup-1" });
    await queue.add("process-delivery", { deliveryId: "1" }, { jobId: "dup-1" });
    await Promise.all([
      queue.add("process-delivery", { deliveryId: "2" }, { jobId: "dup-2" }),
      queue.add("process-delivery", { deliveryId: "2" }, { jobId: "dup-2" }),
      queue.addBulk("process-delivery", [
        { payload: { deliveryId: "3" }, options: { jobId: "dup-3" } },
        { payload: { deliveryId: "3" }, options: { jobId: "dup-3" } },
      ]),
    ]);
    expect((await deliveryCounts(queue)).waiting).toBe(3);

    const runs: string[] = [];
    await queue.work({
      "process-delivery": async (_payload, { jobId }) => {
        runs.push(jobId);
      },
    });
    await waitFor(async () => runs.length >= 3 && (await idle(queue)), 5000, "the jobs to run");
    expect(runs.sort()).toEqual(["dup-1", "dup-2", "dup-3"]);
  });

  it("does not add a job id again while it runs or is delayed, and does once it completed", async () => {
    const queue = openQueue();
    const running = gate();
    const release = gate();
    const runs: string[] = [];
    await queue.work({
      "process-delivery": async (_payload, { jobId }) => {
        runs.push(jobId);
        if (jobId === "job-running") {
          running.open();
          await release.opened;
        }
      },
    });
    await queue.add("process-delivery", { deliveryId: "r" }, { jobId: "job-running" });
    await queue.add("process-delivery", { deliveryId: "d" }, { jobId: "job-delayed", delayMs: 60_000 });
    await running.opened;
    await queue.add("process-delivery", { deliveryId: "r" }, { jobId: "job-running" });
    await queue.add("process-delivery", { deliveryId: "d" }, { jobId: "job-delayed" });
    expect(await deliveryCounts(queue)).toEqual({ waiting: 0, active: 1, delayed: 1, failed: 0 });

    release.open();
    await waitFor(async () => (await deliveryCounts(queue)).active === 0, 5000, "the running job to finish");
    await queue.add("process-delivery", { deliveryId: "r" }, { jobId: "job-running" });
    await waitFor(async () => runs.length === 2, 5000, "the job added again");
    expect(runs).toEqual(["job-running", "job-running"]);
  });

  it("retries with exponential backoff and says which try is the last", async () => {
    const queue = openQueue({ attempts: 3, backoffMs: 50 });
    const tries: { context: JobContext; at: number }[] = [];
    await queue.work({
      "process-delivery": async (_payload, context) => {
        tries.push({ context, at: Date.now() });
        throw new Error("boom");
      },
    });
    await queue.add("process-delivery", { deliveryId: "x" }, { jobId: "retried" });

    await waitFor(async () => (await deliveryCounts(queue)).failed === 1, 5000, "the job to fail");
    expect(tries.map(({ context }) => context)).toEqual([
      { jobId: "retried", attempt: 1, maxAttempts: 3, isLastAttempt: false },
      { jobId: "retried", attempt: 2, maxAttempts: 3, isLastAttempt: false },
      { jobId: "retried", attempt: 3, maxAttempts: 3, isLastAttempt: true },
    ]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(45);
    expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(95);
    expect(await idle(queue)).toBe(true);
  });

  it("does not retry after a PermanentJobError", async () => {
    const queue = openQueue({ attempts: 3, backoffMs: 50 });
    let tries = 0;
    await queue.work({
      "process-delivery": async () => {
        tries += 1;
        throw new PermanentJobError("cannot work");
      },
    });
    await queue.add("process-delivery", { deliveryId: "x" }, { jobId: "permanent" });

    await waitFor(async () => (await deliveryCounts(queue)).failed === 1, 5000, "the job to fail");
    await sleep(150);
    expect(tries).toBe(1);
    expect(await idle(queue)).toBe(true);
  });

  it("runs again after a RetryLaterError's delay without using up an attempt", async () => {
    const queue = openQueue({ attempts: 2, backoffMs: 50 });
    const tries: { context: JobContext; at: number }[] = [];
    await queue.work({
      "process-delivery": async (_payload, context) => {
        tries.push({ context, at: Date.now() });
        if (tries.length <= 2) throw new RetryLaterError(100);
      },
    });
    await queue.add("process-delivery", { deliveryId: "x" }, { jobId: "rate-limited" });

    await waitFor(async () => tries.length === 3 && (await idle(queue)), 5000, "the third try");
    expect(tries.map(({ context }) => context.attempt)).toEqual([1, 1, 1]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(95);
    expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(95);
    expect((await deliveryCounts(queue)).failed).toBe(0);
  });

  it("runs a job added with delayMs no sooner than the delay", async () => {
    const queue = openQueue();
    let ranAt = 0;
    await queue.work({
      "process-delivery": async () => {
        ranAt = Date.now();
      },
    });
    const addedAt = Date.now();
    await queue.add("process-delivery", { deliveryId: "x" }, { jobId: "later", delayMs: 300 });
    expect((await deliveryCounts(queue)).delayed).toBe(1);

    await waitFor(async () => ranAt > 0, 5000, "the delayed job");
    expect(ranAt - addedAt).toBeGreaterThanOrEqual(295);
  });

  it("counts waiting, active, delayed and failed jobs", async () => {
    const queue = openQueue({ attempts: 1, backoffMs: 50 });
    const release = gate();
    await queue.add("process-delivery", { deliveryId: "a" }, { jobId: "count-a" });
    await queue.add("process-delivery", { deliveryId: "b" }, { jobId: "count-b" });
    await queue.add("process-delivery", { deliveryId: "c" }, { jobId: "count-c", delayMs: 60_000 });
    expect(await deliveryCounts(queue)).toEqual({ waiting: 2, active: 0, delayed: 1, failed: 0 });

    await queue.work(
      {
        "process-delivery": async () => {
          await release.opened;
          throw new Error("boom");
        },
      },
      { concurrency: 1 },
    );
    await waitFor(async () => (await deliveryCounts(queue)).active === 1, 5000, "one active job");
    expect(await deliveryCounts(queue)).toEqual({ waiting: 1, active: 1, delayed: 1, failed: 0 });

    release.open();
    await waitFor(async () => (await deliveryCounts(queue)).failed === 2, 5000, "both jobs to fail");
    expect(await deliveryCounts(queue)).toEqual({ waiting: 0, active: 0, delayed: 1, failed: 2 });
  });

  it("close() waits for a running job, then takes no more", async () => {
    const queue = openQueue();
    const running = gate();
    let finished = false;
    await queue.work({
      "process-delivery": async () => {
        running.open();
        await sleep(300);
        finished = true;
      },
    });
    await queue.add("process-delivery", { deliveryId: "x" }, { jobId: "slow" });
    await running.opened;

    await queue.close(5000);
    expect(finished).toBe(true);
    await expect(queue.add("process-delivery", { deliveryId: "y" }, { jobId: "too-late" })).rejects.toThrow();
  });

  it("close() stops waiting for a running job after its timeout", async () => {
    const queue = openQueue();
    const running = gate();
    const release = gate();
    await queue.work({
      "process-delivery": async () => {
        running.open();
        await release.opened;
      },
    });
    await queue.add("process-delivery", { deliveryId: "x" }, { jobId: "stuck" });
    await running.opened;

    const started = Date.now();
    await queue.close(200);
    const took = Date.now() - started;
    release.open();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
  });
});
