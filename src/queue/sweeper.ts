import type { DataSource } from "typeorm";
import { sql } from "../db/sql.js";
import { expireLostRuns, type RunSettings } from "../domain/runs.js";
import type { Logger } from "../log.js";
import type { OutboxRelay } from "./outbox-relay.js";
import type { JobQueue } from "./queue.js";

const PRUNE_EVERY_MS = 3_600_000;

export interface SweeperOptions {
  db: DataSource;
  queue: JobQueue;
  relay: OutboxRelay;
  log: Logger;
  intervalMs: number;
  /** A delivery still `received` this long after it arrived, or a scheduled job still unfinished this long after it was due, is queued again. */
  staleAfterMs: number;
  /** How often to look for GitHub deliveries that never reached us; unset while the App is not configured. */
  recoverEveryMs?: number;
  /** Agent runs whose runner stopped sending heartbeats are lost, and their tasks handed out again. */
  runs?: RunSettings;
}

/**
 * Queues what was stored but not queued, or queued and lost: scheduled jobs left in the outbox or
 * never finished, and deliveries left `received` (the queue was down when they arrived, Redis
 * restarted empty, or a worker died). It also ends the agent runs whose runner went silent. Job ids make it harmless to queue something that is already waiting.
 */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private prunedAt = 0;

  constructor(private readonly options: SweeperOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().catch((error: Error) => {
        this.options.log.warn({ err: error.message }, "sweep failed; trying again on the next tick");
      }).finally(() => {
        this.running = undefined;
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * After a start on the in-process queue: what the last process left (jobs not run, deliveries still
   * `received`) is queued at once rather than after STALE_DELIVERY_MS, since no other process can hold it.
   */
  async recoverAfterRestart(): Promise<void> {
    const jobs = await this.options.relay.requeueAfterRestart();
    const deliveries = await this.queueReceivedDeliveries(0);
    if (jobs + deliveries > 0) this.options.log.info({ jobs, deliveries }, "queued again what the last run left unfinished");
  }

  async sweep(): Promise<void> {
    const { relay, log, staleAfterMs } = this.options;
    if (this.options.runs) {
      const lost = await expireLostRuns(this.options.db, this.options.runs);
      if (lost > 0) log.warn({ runs: lost }, "agent runs lost: their runners sent no heartbeat in time; their tasks go on");
    }
    await relay.flush();
    const requeued = await relay.requeueUnfinished(staleAfterMs);
    // Most are still waiting behind a backlog (the queue keeps them once); only those a queue lost run again.
    if (requeued > 0) log.debug({ jobs: requeued }, "handed the queue again the scheduled jobs unfinished after they were due");
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      await relay.prune();
      this.prunedAt = Date.now();
    }
    const every = this.options.recoverEveryMs;
    if (every) {
      // One job id per period: every worker asks, the queue keeps one.
      await this.options.queue.add("recover-deliveries", {}, { jobId: `recover-deliveries-${Math.floor(Date.now() / every)}` });
    }
    const stale = await this.queueReceivedDeliveries(this.options.staleAfterMs);
    if (stale > 0) this.options.log.info({ deliveries: stale }, "queued deliveries left in received");
  }

  /** Queues again the deliveries still `received` `staleAfterMs` after they arrived; how many. */
  private async queueReceivedDeliveries(staleAfterMs: number): Promise<number> {
    const stale = await sql<{ id: string }>(
      this.options.db,
      `SELECT id FROM webhook_deliveries WHERE status = 'received' AND created_at < now() - ($1 * interval '1 millisecond')
        ORDER BY created_at LIMIT 500`,
      [staleAfterMs],
    );
    if (stale.rows.length === 0) return 0;
    // A job id of its own per minute: the original job may be kept as failed in Redis, and processing twice is harmless.
    const minute = Math.floor(Date.now() / 60_000);
    await this.options.queue.addBulk("process-delivery", stale.rows.map((row) => ({
      payload: { deliveryId: row.id },
      options: { jobId: `delivery-${row.id}-s${minute}` },
    })));
    return stale.rows.length;
  }
}
