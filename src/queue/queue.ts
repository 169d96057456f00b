import type { JobName, JobPayloads, RetryPolicy } from "../domain/jobs.js";

export interface JobContext {
  jobId: string;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
  /** True when a failure of this try is final. */
  isLastAttempt: boolean;
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N], context: JobContext) => Promise<void>;
export type JobHandlers = { [N in JobName]?: JobHandler<N> };

export interface EnqueueOptions {
  /**
   * The idempotency key: a job whose id is already waiting, delayed or running is not added again.
   * On BullMQ the id of a failed job stays taken while Redis keeps it (the last 1000 failures), and an id
   * must not be all digits, contain ":", or be one of BullMQ's key names ("wait", "delayed", "meta", …).
   */
  jobId: string;
  delayMs?: number;
}

export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface WorkOptions {
  /** Jobs of one name run at the same time in this process. */
  concurrency?: number;
}

/** The contract both adapters (BullMQ on Redis, in-process) keep. */
export interface JobQueue {
  readonly kind: "bullmq" | "memory";
  add<N extends JobName>(name: N, payload: JobPayloads[N], options: EnqueueOptions): Promise<void>;
  addBulk<N extends JobName>(name: N, jobs: { payload: JobPayloads[N]; options: EnqueueOptions }[]): Promise<void>;
  /** Starts running the given handlers in this process. */
  work(handlers: JobHandlers, options?: WorkOptions): Promise<void>;
  counts(): Promise<Record<JobName, JobCounts>>;
  /** True when the backing store answers; the in-process queue always does. */
  ping(): Promise<boolean>;
  /** Stops taking jobs, waits up to timeoutMs for running ones, and releases connections. */
  close(timeoutMs?: number): Promise<void>;
}

export interface QueueSettings {
  retry: Partial<Record<JobName, RetryPolicy>>;
  defaultRetry: RetryPolicy;
}

/** Thrown by a handler to try again after a given delay without using up an attempt (rate limits). */
export class RetryLaterError extends Error {
  constructor(readonly delayMs: number, message = `retry in ${delayMs} ms`) {
    super(message);
    this.name = "RetryLaterError";
  }
}

/** Thrown by a handler when trying again cannot help. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentJobError";
  }
}
