import { afterEach, describe, expect, it } from "@jest/globals";
import { BullmqQueue, QueueUnavailableError } from "../../src/queue/bullmq-queue.js";

// Nothing listens on port 1: every connection is refused, so no key is ever written.
const CLOSED_PORT_URL = "redis://127.0.0.1:1";
const ENQUEUE_TIMEOUT_MS = 500;
const prefix = `test-queue-down-${process.pid}-${Date.now()}`;
const openQueues: BullmqQueue[] = [];

function openQueue(): BullmqQueue {
  const queue = new BullmqQueue({
    redisUrl: CLOSED_PORT_URL,
    prefix,
    settings: { defaultRetry: { attempts: 3, backoffMs: 50 }, retry: {} },
    enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS,
  });
  openQueues.push(queue);
  return queue;
}

afterEach(async () => {
  await Promise.all(openQueues.splice(0).map((queue) => queue.close(1000)));
});

describe("BullmqQueue when Redis is unreachable", () => {
  it("rejects add and addBulk within the enqueue timeout, also when called right away", async () => {
    const queue = openQueue();
    const started = Date.now();
    await expect(queue.add("process-delivery", { deliveryId: "x" }, { jobId: "down-1" })).rejects.toThrow(QueueUnavailableError);
    await expect(
      queue.addBulk("process-delivery", [{ payload: { deliveryId: "y" }, options: { jobId: "down-2" } }]),
    ).rejects.toThrow(QueueUnavailableError);
    expect(Date.now() - started).toBeLessThan(2 * ENQUEUE_TIMEOUT_MS + 1000);
  });

  it("keeps rejecting add quickly while Redis stays away", async () => {
    const queue = openQueue();
    await expect(queue.add("process-delivery", { deliveryId: "x" }, { jobId: "down-1" })).rejects.toThrow();
    const started = Date.now();
    await expect(queue.add("process-delivery", { deliveryId: "x" }, { jobId: "down-1" })).rejects.toThrow(QueueUnavailableError);
    expect(Date.now() - started).toBeLessThan(ENQUEUE_TIMEOUT_MS + 1000);
  });

  it("rejects counts() within the timeout", async () => {
    const queue = openQueue();
    const started = Date.now();
    await expect(queue.counts()).rejects.toThrow(QueueUnavailableError);
    expect(Date.now() - started).toBeLessThan(ENQUEUE_TIMEOUT_MS + 1000);
  });

  it("answers ping() with false", async () => {
    const queue = openQueue();
    const started = Date.now();
    expect(await queue.ping()).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("closes promptly with workers started", async () => {
    const queue = openQueue();
    await queue.work({ "process-delivery": async () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await queue.close(1000);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
