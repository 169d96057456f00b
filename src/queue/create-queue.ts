import { BullmqQueue, type BullmqQueueOptions } from "./bullmq-queue.js";
import { MemoryQueue } from "./memory-queue.js";
import type { JobQueue, QueueSettings } from "./queue.js";

export interface CreateQueueOptions {
  /** Unset: the in-process queue. */
  redisUrl?: string;
  prefix: string;
  settings: QueueSettings;
  log?: BullmqQueueOptions["log"];
}

/** BullMQ on Redis when a Redis URL is configured, the in-process queue otherwise. */
export function createQueue({ redisUrl, prefix, settings, log }: CreateQueueOptions): JobQueue {
  return redisUrl ? new BullmqQueue({ redisUrl, prefix, settings, log }) : new MemoryQueue({ settings, log });
}
