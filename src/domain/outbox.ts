import { randomUUID } from "node:crypto";
import type { JobPayloads, OutboxJobName } from "./jobs.js";
import { write, type Queryable } from "../db/sql.js";

/**
 * Schedules a background job as part of the caller's transaction: it is queued only if the
 * transaction commits, and never lost if the queue is down then (the relay retries). The row is written with
 * the transaction's next statement when the transaction defers writes (see write).
 */
export async function scheduleJob<N extends OutboxJobName>(
  db: Queryable,
  name: N,
  payload: JobPayloads[N],
  options: { jobId?: string; delayMs?: number } = {},
): Promise<void> {
  await write(
    db,
    "INSERT INTO job_outbox (job_name, job_id, payload, delay_ms) VALUES ($1, $2, $3, $4)",
    [name, options.jobId ?? `${name}-${randomUUID()}`, JSON.stringify(payload), options.delayMs ?? 0],
  );
}
