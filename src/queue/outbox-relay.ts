import type { DataSource } from "typeorm";
import { sql } from "../db/sql.js";
import type { Logger } from "../log.js";
import type { JobName } from "./jobs.js";
import type { JobQueue } from "./queue.js";

interface OutboxRow {
  id: string;
  job_name: JobName;
  job_id: string;
  payload: never;
  delay_ms: number;
  created_at: Date;
}

const BATCH = 200;

/** Moves jobs scheduled by committed transactions (job_outbox) onto the queue. */
export class OutboxRelay {
  private running?: Promise<void>;
  private again = false;

  constructor(private readonly db: DataSource, private readonly queue: JobQueue, private readonly log: Logger) {}

  /** Queues every pending job; concurrent calls share one pass and ask for another. */
  flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Like flush, but logs instead of throwing: for callers whose own work is already committed. */
  async flushQuietly(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "scheduled jobs not queued yet; the relay retries");
    }
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      while ((await this.relayBatch()) === BATCH);
    } while (this.again);
  }

  /** Rows stay locked while they are queued, so two relays never queue the same row twice. */
  private async relayBatch(): Promise<number> {
    return this.db.transaction(async (manager) => {
      const pending = await sql<OutboxRow>(
        manager,
        `SELECT * FROM job_outbox WHERE enqueued_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [BATCH],
      );
      if (pending.rows.length === 0) return 0;
      const byName = new Map<JobName, OutboxRow[]>();
      for (const row of pending.rows) byName.set(row.job_name, [...(byName.get(row.job_name) ?? []), row]);
      for (const [name, rows] of byName) {
        await this.queue.addBulk(name, rows.map((row) => ({
          payload: row.payload,
          options: { jobId: row.job_id, delayMs: row.delay_ms > 0 ? row.delay_ms : undefined },
        })));
      }
      await sql(manager, "UPDATE job_outbox SET enqueued_at = now() WHERE id = ANY($1::uuid[])", [pending.rows.map((r) => r.id)]);
      return pending.rows.length;
    });
  }

  /** Forgets rows queued more than a day ago. */
  async prune(): Promise<void> {
    await sql(this.db, "DELETE FROM job_outbox WHERE enqueued_at < now() - interval '1 day'");
  }
}
