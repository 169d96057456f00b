import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from "bullmq";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../log.js";
import { JOB_NAMES, type JobName, type JobPayloads, type RetryPolicy } from "../domain/jobs.js";
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
import { createRedisClient, type RedisClient } from "./redis-client.js";
import { redisReady } from "./redis-ready.js";

export interface BullmqQueueOptions {
  redisUrl: string;
  /** Prefix of every Redis key of these queues. */
  prefix: string;
  settings: QueueSettings;
  log?: Pick<Logger, "info" | "warn" | "error">;
  /** add, addBulk and counts reject after this long when Redis does not answer. */
  enqueueTimeoutMs?: number;
}

/** Redis did not take the call in time; the caller keeps the work and tries again later. */
export class QueueUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueueUnavailableError";
  }
}

type AnyJobHandler = (payload: never, context: JobContext) => Promise<void>;

const DEFAULT_ENQUEUE_TIMEOUT_MS = 2000;
const DEFAULT_CONCURRENCY = 4;
const PING_TIMEOUT_MS = 1000;
/** How long close() gives each remaining step before it cuts the sockets. */
const CLOSE_STEP_MS = 1000;
/** How long ioredis waits for a socket to close before destroying it. */
const DISCONNECT_TIMEOUT_MS = 100;
/** Failed jobs kept in Redis for inspection; their ids stay taken while kept. */
const FAILED_JOBS_KEPT = 1000;

/** The queue on Redis: one BullMQ queue per job name, workers only in processes that call work(). */
export class BullmqQueue implements JobQueue {
  readonly kind = "bullmq" as const;
  private readonly producer: RedisClient;
  private readonly queues: Record<JobName, Queue>;
  private readonly workers: Worker[] = [];
  private startWorkers?: () => void;
  /** Every socket this queue opened, BullMQ's copies included, so close() can end them all. */
  private readonly clients = new Set<RedisClient>();
  /** Releases the jobs still running when close() stops waiting for them. */
  private readonly abandoners = new Set<() => void>();
  private readonly enqueueTimeoutMs: number;
  private redisDown = false;
  private closing?: Promise<void>;

  constructor(private readonly options: BullmqQueueOptions) {
    this.enqueueTimeoutMs = options.enqueueTimeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS;
    // Fail fast instead of queueing commands while Redis is away: the web process must keep answering.
    this.producer = this.connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: this.enqueueTimeoutMs });
    const queues: Partial<Record<JobName, Queue>> = {};
    for (const name of JOB_NAMES) {
      const queue = new Queue(name, { connection: this.producer, prefix: options.prefix });
      queue.on("error", this.reportError);
      queues[name] = queue;
    }
    this.queues = queues as Record<JobName, Queue>;
  }

  /** One job, without addBulk's pipeline (ioredis builds every BullMQ script into each pipeline it makes). */
  async add<N extends JobName>(name: N, payload: JobPayloads[N], options: EnqueueOptions): Promise<void> {
    await this.onProducer(`add ${name}`, () => this.queues[name].add(name, payload, this.jobOptions(name, options)));
  }

  async addBulk<N extends JobName>(name: N, jobs: { payload: JobPayloads[N]; options: EnqueueOptions }[]): Promise<void> {
    if (jobs.length === 0) return;
    const bulk = jobs.map(({ payload, options }) => ({ name, data: payload, opts: this.jobOptions(name, options) }));
    await this.onProducer(`add ${name}`, () => this.queues[name].addBulk(bulk));
  }

  /** Workers start once Redis answers: started while it is down, a BullMQ worker sleeps through 15 s retry delays close() cannot cut short. */
  async work(handlers: JobHandlers, options: WorkOptions = {}): Promise<void> {
    if (this.closing) throw new Error("the queue is closed");
    if (this.startWorkers) throw new Error("work() was already called");
    this.startWorkers = () => this.createWorkers(handlers, options.concurrency ?? DEFAULT_CONCURRENCY);
    if (this.producer.status === "ready") this.startWorkers();
    else this.producer.once("ready", this.startWorkers);
  }

  private createWorkers(handlers: JobHandlers, concurrency: number): void {
    if (this.closing) return;
    // BullMQ copies this connection for each worker (blocking reads need their own); only the copies connect.
    const connection = this.connect({ maxRetriesPerRequest: null, lazyConnect: true });
    for (const name of JOB_NAMES) {
      const handler: AnyJobHandler | undefined = handlers[name];
      if (!handler) continue;
      const worker = new Worker(name, (job, token) => this.abandonable(this.process(handler, job, token)), {
        connection,
        prefix: this.options.prefix,
        concurrency,
      });
      worker.on("error", this.reportError);
      worker.on("failed", (job, error) => {
        if (!job) return;
        const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
        this.options.log?.warn(
          { job: name, job_id: job.id, attempt: job.attemptsMade, err: error.message },
          final ? "job failed" : "job failed; retrying",
        );
      });
      this.workers.push(worker);
    }
  }

  /** The BullMQ queues themselves, one per job name, for Bull Board in the console. */
  bullQueues(): Queue[] {
    return Object.values(this.queues);
  }

  async counts(): Promise<Record<JobName, JobCounts>> {
    const entries = await Promise.all(
      JOB_NAMES.map(async (name) => {
        const counts = await this.onProducer(`count ${name}`, () =>
          this.queues[name].getJobCounts("waiting", "active", "delayed", "failed"),
        );
        const jobCounts: JobCounts = {
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
        };
        return [name, jobCounts] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<JobName, JobCounts>;
  }

  async ping(): Promise<boolean> {
    if (this.producer.status !== "ready") return false;
    try {
      return (await deadline(this.producer.ping(), PING_TIMEOUT_MS, () => new Error("ping timed out"))) === "PONG";
    } catch {
      return false;
    }
  }

  close(timeoutMs = 10_000): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.startWorkers) this.producer.off("ready", this.startWorkers);
    const workersClosed = Promise.allSettled(this.workers.map((worker) => worker.close()));
    if (!(await settlesWithin(workersClosed, timeoutMs)) && this.abandoners.size > 0) {
      this.options.log?.warn(
        { running: this.abandoners.size, timeout_ms: timeoutMs },
        "jobs still running at shutdown; they run again once their Redis lock expires",
      );
      for (const abandon of this.abandoners) abandon();
      await settlesWithin(workersClosed, CLOSE_STEP_MS);
    }
    await settlesWithin(Promise.allSettled(Object.values(this.queues).map((queue) => queue.close())), CLOSE_STEP_MS);
    if (this.producer.status === "ready") await settlesWithin(this.producer.quit(), CLOSE_STEP_MS);
    const open = [...this.clients].filter((client) => client.status !== "end");
    // ioredis keeps a disconnectTimeout timer on a socket that died before; let it pass so nothing outlives close().
    const deadSockets = open.some((client) => client.status !== "ready" && client.status !== "wait");
    for (const client of open) client.disconnect();
    if (deadSockets) await sleep(DISCONNECT_TIMEOUT_MS);
  }

  private jobOptions(name: JobName, { jobId, delayMs }: EnqueueOptions): JobsOptions {
    const retry: RetryPolicy = this.options.settings.retry[name] ?? this.options.settings.defaultRetry;
    return {
      jobId,
      delay: delayMs,
      attempts: retry.attempts,
      backoff: { type: "exponential", delay: retry.backoffMs },
      removeOnComplete: true,
      removeOnFail: { count: FAILED_JOBS_KEPT },
    };
  }

  /** Runs a producer call only while Redis answers, and never for longer than enqueueTimeoutMs. */
  private async onProducer<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (this.closing) throw new Error("the queue is closed");
    const started = Date.now();
    // BullMQ waits without limit for a connection that was never ready, so it gets the call only once it is.
    if (this.producer.status !== "ready" && (this.redisDown || !(await redisReady(this.producer, this.enqueueTimeoutMs)))) {
      throw new QueueUnavailableError(`${what}: Redis is not reachable`);
    }
    const left = Math.max(this.enqueueTimeoutMs - (Date.now() - started), 1);
    return deadline(call(), left, () => new QueueUnavailableError(`${what}: Redis did not answer in ${this.enqueueTimeoutMs} ms`));
  }

  private async process(handler: AnyJobHandler, job: Job, token: string | undefined): Promise<void> {
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const context: JobContext = { jobId: job.id ?? "", attempt, maxAttempts, isLastAttempt: attempt >= maxAttempts };
    try {
      await handler(job.data as never, context);
    } catch (error) {
      if (error instanceof RetryLaterError) {
        // moveToDelayed keeps attemptsMade as it is; DelayedError tells the worker the job is already moved.
        await job.moveToDelayed(Date.now() + error.delayMs, token);
        throw new DelayedError();
      }
      if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message);
      throw error instanceof Error ? error : new Error(String(error));
    }
  }

  /** A job released by close() is left active in Redis, where BullMQ's stalled-job check hands it on. */
  private abandonable(work: Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      const abandon = (): void => reject(new DelayedError("the worker closed before the job finished"));
      this.abandoners.add(abandon);
      void work.then(resolve, reject).finally(() => this.abandoners.delete(abandon));
    });
  }

  /** Opens a tracked socket; copies BullMQ makes with duplicate() are tracked too. */
  private connect(options: RedisOptions): RedisClient {
    return this.track(createRedisClient(this.options.redisUrl, { ...options, disconnectTimeout: DISCONNECT_TIMEOUT_MS }));
  }

  private track<C extends RedisClient>(client: C): C {
    this.clients.add(client);
    client.on("error", this.reportError);
    client.on("ready", this.reportReady);
    // A lazy copy would make BullMQ connect it once and give up for good if Redis is down at that moment.
    if (client instanceof Cluster) {
      const duplicate = client.duplicate.bind(client);
      client.duplicate = (nodes, override) => this.track(duplicate(nodes, { lazyConnect: false, ...override }));
    } else {
      client.duplicate = (override) => this.track(new Redis({ ...client.options, lazyConnect: false, ...override }));
    }
    return client;
  }

  /** Connection errors repeat on every reconnect attempt: log the first of each outage only. */
  private readonly reportError = (error: Error): void => {
    if (!isConnectionError(error)) {
      this.options.log?.error({ err: error.message }, "queue error");
      return;
    }
    if (this.redisDown || this.closing) return;
    this.redisDown = true;
    this.options.log?.warn({ err: error.message }, "Redis is not reachable; retrying in the background");
  };

  private readonly reportReady = (): void => {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.options.log?.info("Redis is reachable again");
  };
}

function isConnectionError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    (typeof code === "string" && /^E[A-Z]+$/.test(code)) ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ETIMEDOUT|MaxRetriesPerRequest|Failed to refresh slots cache|Cluster isn't ready|Cluster is ended|None of startup nodes|CLUSTERDOWN/.test(error.message)
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function deadline<T>(promise: Promise<T>, timeoutMs: number, timeoutError: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), timeoutMs);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** True when the promise settled (either way) within timeoutMs. */
function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return deadline(
    promise.then(
      () => true,
      () => true,
    ),
    timeoutMs,
    () => new Error("timed out"),
  ).catch(() => false);
}
