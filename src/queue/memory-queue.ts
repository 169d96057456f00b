import type { Logger } from "../log.js";
import { JOB_NAMES, type JobName, type JobPayloads } from "../domain/jobs.js";
import {
  PermanentJobError,
  RetryLaterError,
  type EnqueueOptions,
  type JobContext,
  type JobCounts,
  type JobHandlers,
  type JobQueue,
  type QueueSettings,
  type WorkOptions,
} from "./queue.js";

export interface MemoryQueueOptions {
  settings: QueueSettings;
  log?: Pick<Logger, "info" | "warn" | "error">;
}

type AnyJobHandler = (payload: never, context: JobContext) => Promise<void>;

interface QueuedJob {
  id: string;
  payload: unknown;
  attemptsMade: number;
  maxAttempts: number;
  backoffMs: number;
}

/** The jobs of one name. */
interface Lane {
  name: JobName;
  handler?: AnyJobHandler;
  waiting: QueuedJob[];
  delayed: Map<string, NodeJS.Timeout>;
  active: Set<string>;
  /** Ids waiting, delayed or running: the ones add() leaves alone. */
  ids: Set<string>;
  failed: number;
}

const DEFAULT_CONCURRENCY = 4;

/** The queue in this process: nothing survives a restart; for one-process installs and tests. */
export class MemoryQueue implements JobQueue {
  readonly kind = "memory" as const;
  private readonly lanes: Record<JobName, Lane>;
  private readonly running = new Set<Promise<void>>();
  private concurrency = DEFAULT_CONCURRENCY;
  private working = false;
  private closed = false;

  constructor(private readonly options: MemoryQueueOptions) {
    const lanes: Partial<Record<JobName, Lane>> = {};
    for (const name of JOB_NAMES) {
      lanes[name] = { name, waiting: [], delayed: new Map(), active: new Set(), ids: new Set(), failed: 0 };
    }
    this.lanes = lanes as Record<JobName, Lane>;
  }

  async add<N extends JobName>(name: N, payload: JobPayloads[N], options: EnqueueOptions): Promise<void> {
    this.enqueue(name, payload, options);
  }

  async addBulk<N extends JobName>(name: N, jobs: { payload: JobPayloads[N]; options: EnqueueOptions }[]): Promise<void> {
    for (const { payload, options } of jobs) this.enqueue(name, payload, options);
  }

  async work(handlers: JobHandlers, options: WorkOptions = {}): Promise<void> {
    if (this.closed) throw new Error("the queue is closed");
    if (this.working) throw new Error("work() was already called");
    this.working = true;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    for (const name of JOB_NAMES) {
      const handler: AnyJobHandler | undefined = handlers[name];
      if (!handler) continue;
      this.lanes[name].handler = handler;
      this.drain(this.lanes[name]);
    }
  }

  async counts(): Promise<Record<JobName, JobCounts>> {
    const entries = JOB_NAMES.map((name) => {
      const lane = this.lanes[name];
      const counts: JobCounts = { waiting: lane.waiting.length, active: lane.active.size, delayed: lane.delayed.size, failed: lane.failed };
      return [name, counts] as const;
    });
    return Object.fromEntries(entries) as Record<JobName, JobCounts>;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  /** Lets go of the jobs not started (the next start queues them again) and waits up to timeoutMs for running ones. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      let dropped = 0;
      for (const lane of Object.values(this.lanes)) {
        for (const timer of lane.delayed.values()) clearTimeout(timer);
        dropped += lane.delayed.size + lane.waiting.length;
        for (const id of lane.delayed.keys()) lane.ids.delete(id);
        for (const job of lane.waiting) lane.ids.delete(job.id);
        lane.delayed.clear();
        lane.waiting = [];
      }
      // The outbox and the deliveries' status keep them: the next start queues them again (Sweeper.recoverAfterRestart).
      if (dropped > 0) this.options.log?.info({ jobs: dropped }, "in-process queue closed with jobs not run yet: the next start runs them");
    }
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const finished = Promise.allSettled([...this.running]).then(() => false);
    if (await Promise.race([finished, timedOut])) {
      this.options.log?.warn({ running: this.running.size, timeout_ms: timeoutMs }, "jobs still running at shutdown");
    }
    clearTimeout(timer);
  }

  private enqueue(name: JobName, payload: unknown, { jobId, delayMs }: EnqueueOptions): void {
    if (this.closed) throw new Error("the queue is closed");
    const lane = this.lanes[name];
    if (lane.ids.has(jobId)) return;
    lane.ids.add(jobId);
    const retry = this.options.settings.retry[name] ?? this.options.settings.defaultRetry;
    const job: QueuedJob = { id: jobId, payload, attemptsMade: 0, maxAttempts: retry.attempts, backoffMs: retry.backoffMs };
    if (delayMs !== undefined && delayMs > 0) {
      this.delay(lane, job, delayMs);
    } else {
      lane.waiting.push(job);
      this.drain(lane);
    }
  }

  private drain(lane: Lane): void {
    while (lane.handler && !this.closed && lane.active.size < this.concurrency && lane.waiting.length > 0) {
      this.run(lane, lane.handler, lane.waiting.shift()!);
    }
  }

  private run(lane: Lane, handler: AnyJobHandler, job: QueuedJob): void {
    lane.active.add(job.id);
    const attempt = job.attemptsMade + 1;
    const context: JobContext = { jobId: job.id, attempt, maxAttempts: job.maxAttempts, isLastAttempt: attempt >= job.maxAttempts };
    const done: Promise<void> = Promise.resolve()
      .then(() => handler(job.payload as never, context))
      .then(
        () => {
          lane.ids.delete(job.id);
        },
        (error: unknown) => this.failed(lane, job, attempt, error),
      )
      .finally(() => {
        lane.active.delete(job.id);
        this.running.delete(done);
        this.drain(lane);
      });
    this.running.add(done);
  }

  private failed(lane: Lane, job: QueuedJob, attempt: number, error: unknown): void {
    if (error instanceof RetryLaterError) {
      this.delay(lane, job, error.delayMs);
      return;
    }
    const final = error instanceof PermanentJobError || attempt >= job.maxAttempts;
    const err = error instanceof Error ? error.message : String(error);
    this.options.log?.warn({ job: lane.name, job_id: job.id, attempt, err }, final ? "job failed" : "job failed; retrying");
    if (final) {
      lane.ids.delete(job.id);
      lane.failed += 1;
      return;
    }
    job.attemptsMade = attempt;
    this.delay(lane, job, job.backoffMs * 2 ** (attempt - 1));
  }

  private delay(lane: Lane, job: QueuedJob, delayMs: number): void {
    if (this.closed) {
      lane.ids.delete(job.id);
      return;
    }
    const timer = setTimeout(() => {
      lane.delayed.delete(job.id);
      lane.waiting.push(job);
      this.drain(lane);
    }, delayMs);
    // Nothing here outlives the process, so a pending retry must not keep it alive.
    timer.unref();
    lane.delayed.set(job.id, timer);
  }
}
