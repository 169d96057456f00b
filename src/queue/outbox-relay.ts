import type { DataSource } from "typeorm";
import type { OutboxJob } from "../db/entities/outbox-job.js";
import { sql } from "../db/sql.js";
import type { Logger } from "../log.js";
import { SELF_RECOVERING_JOBS, type JobName } from "../domain/jobs.js";
import type { JobQueue } from "./queue.js";

type OutboxRow = Omit<OutboxJob, "job_name" | "payload"> & { job_name: JobName; payload: never };

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

  /**
   * Takes a batch in one statement (nothing to take costs that one round trip), then queues it. Rows
   * taken by one relay are skipped by the others. A batch the queue refuses is handed back; if even that
   * fails, the sweeper queues its rows again once they are overdue.
   */
  private async relayBatch(): Promise<number> {
    const taken = await sql<OutboxRow>(
      this.db,
      // A self-recovering job is let go of once queued: it is never queued again from here.
      `UPDATE job_outbox SET enqueued_at = now(), finished_at = CASE WHEN job_name = ANY($2::text[]) THEN now() END
        WHERE id IN (SELECT id FROM job_outbox WHERE enqueued_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [BATCH, SELF_RECOVERING_JOBS],
    );
    if (taken.rows.length === 0) return 0;
    const rows = taken.rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id));
    try {
      await this.queueRows(rows, true);
    } catch (error) {
      await sql(this.db, "UPDATE job_outbox SET enqueued_at = NULL, finished_at = NULL WHERE id = ANY($1::uuid[])", [rows.map((r) => r.id)])
        .catch(() => undefined);
      throw error;
    }
    return rows.length;
  }

  /** Marks a job that will not run again, so that it is not queued again. */
  async finished(jobId: string): Promise<void> {
    try {
      await sql(this.db, "UPDATE job_outbox SET finished_at = now() WHERE job_id = $1 AND finished_at IS NULL", [jobId]);
    } catch (error) {
      // The job is done either way; at worst the sweeper queues it once more and the handler finds nothing to do.
      this.log.warn({ job_id: jobId, err: (error as Error).message }, "could not mark a job finished");
    }
  }

  /**
   * Queues again the jobs the queue was given that never finished, `graceMs` after they were due: a
   * queue can lose them (Redis restarted empty, the in-process queue's process died). Job ids make
   * this harmless for jobs the queue still holds. Each row taken counts as queued anew, so the next
   * call goes on with the rows after it however long the backlog is.
   */
  async requeueUnfinished(graceMs: number): Promise<number> {
    const overdue = await sql<OutboxRow>(
      this.db,
      `UPDATE job_outbox SET enqueued_at = now(), delay_ms = 0
        WHERE id IN (
          SELECT id FROM job_outbox
           WHERE finished_at IS NULL AND enqueued_at IS NOT NULL
             AND enqueued_at + (delay_ms + $1) * interval '1 millisecond' < now()
           ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [graceMs, BATCH],
    );
    await this.queueRows(overdue.rows, false);
    return overdue.rows.length;
  }

  /**
   * A fresh in-process queue holds nothing: every job the outbox handed to the queue of an earlier process and
   * that never finished is handed over again now, with what is left of its delay. Only for the in-process queue,
   * whose jobs die with their process (Redis keeps BullMQ's).
   */
  async requeueAfterRestart(): Promise<number> {
    let requeued = 0;
    let after: { created_at: Date; id: string } | undefined;
    for (;;) {
      const rows = await sql<OutboxRow & { remaining_ms: number }>(
        this.db,
        `SELECT *, GREATEST(0, ceil(EXTRACT(EPOCH FROM (enqueued_at + delay_ms * interval '1 millisecond' - now())) * 1000))::integer AS remaining_ms
           FROM job_outbox
          WHERE finished_at IS NULL AND enqueued_at IS NOT NULL AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2::uuid))
          ORDER BY created_at, id LIMIT $3`,
        [after?.created_at ?? null, after?.id ?? null, BATCH],
      );
      await this.queueRows(rows.rows.map((row) => ({ ...row, delay_ms: row.remaining_ms })), true);
      requeued += rows.rows.length;
      if (rows.rows.length < BATCH) return requeued;
      after = rows.rows.at(-1)!;
    }
  }

  /** One addBulk per job name; `withDelay` false queues every row to run now. */
  private async queueRows(rows: OutboxRow[], withDelay: boolean): Promise<void> {
    const byName = new Map<JobName, OutboxRow[]>();
    for (const row of rows) byName.set(row.job_name, [...(byName.get(row.job_name) ?? []), row]);
    for (const [name, named] of byName) {
      await this.queue.addBulk(name, named.map((row) => ({
        payload: row.payload,
        options: { jobId: row.job_id, delayMs: withDelay && row.delay_ms > 0 ? row.delay_ms : undefined },
      })));
    }
  }

  /** Forgets jobs finished more than a day ago, and any queued more than a week ago. */
  async prune(): Promise<void> {
    await sql(this.db, "DELETE FROM job_outbox WHERE finished_at < now() - interval '1 day' OR enqueued_at < now() - interval '7 days'");
  }
}
