import { EntitySchema } from "typeorm";
import { createdAt, timestamp, uuidPrimary } from "./columns.js";

/** A job decided inside a transaction: written with it, queued after it commits (a sweeper queues leftovers). */
export interface OutboxJob {
  id: string;
  job_name: string;
  /** The queue's job id: the same job scheduled twice is one row. */
  job_id: string;
  payload: unknown;
  delay_ms: number;
  created_at: Date;
  enqueued_at: Date | null;
  /** Set once the job will not run again; until then a queue that lost it gets it again. */
  finished_at: Date | null;
}

export const OutboxJobEntity = new EntitySchema<OutboxJob>({
  name: "OutboxJob",
  tableName: "job_outbox",
  columns: {
    id: uuidPrimary,
    job_name: { type: "text" },
    job_id: { type: "text", unique: true },
    payload: { type: "jsonb" },
    delay_ms: { type: "integer", default: 0 },
    created_at: createdAt,
    enqueued_at: { ...timestamp, nullable: true },
    finished_at: { ...timestamp, nullable: true },
  },
  indices: [
    { name: "job_outbox_pending_idx", columns: ["created_at"], where: "enqueued_at IS NULL" },
    { name: "job_outbox_unfinished_idx", columns: ["created_at"], where: "enqueued_at IS NOT NULL AND finished_at IS NULL" },
  ],
});
