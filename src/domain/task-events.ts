import { v7 as uuid7 } from "uuid";
import type { ActorType } from "../db/entities/task-event.js";
import type { Task, TaskStatus } from "../db/entities/task.js";
import { sql, write, type Queryable } from "../db/sql.js";
import { noticeOnGitHub } from "./github-notices.js";
import { batchSubscribers, fanOutTaskEvent, TASK_SUBSCRIBERS, type TaskSubscriber } from "./outbound-deliveries.js";
import { notificationsFor } from "./outbound-events.js";

/** Who made a change: recorded with every task event. */
export interface Actor {
  type: ActorType;
  id: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: "system", id: null };

// clock_timestamp, not the transaction's start: events of one task sort in the order they were written.
const INSERT_EVENT = `
  INSERT INTO task_events (id, task_id, org_id, type, from_status, to_status, actor_type, actor_id, data, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp())`;

/**
 * Records a change of a task in its audit trail, inside the caller's transaction. Its effects:
 * - a task_events row, stamped with the time it was written;
 * - an outbound delivery per active subscription that wants the notification, each sent by an "outbound" job;
 * - for a task from GitHub, its status comment edited and, on acknowledgement, the App's 👀 on the issue.
 */
export async function recordTaskEvent(
  db: Queryable,
  task: Pick<Task, "id" | "org_id"> & Partial<Pick<Task, "team_id">>,
  event: { type: string; from?: TaskStatus | null; to?: TaskStatus | null; actor: Actor; data?: Record<string, unknown> },
): Promise<void> {
  const params = [uuid7(), task.id, task.org_id, event.type, event.from ?? null, event.to ?? null, event.actor.type, event.actor.id,
    JSON.stringify(event.data ?? {})];
  const notifications = notificationsFor(event);
  // In a batch the organization's subscriptions are read once, and the event is written with the next statement.
  const read = notifications.length > 0 && task.team_id ? batchSubscribers(db, { org_id: task.org_id, team_id: task.team_id }) : undefined;
  if (notifications.length === 0 || read) {
    await write(db, INSERT_EVENT, params);
    if (read) await fanOutTaskEvent(db, task, notifications, await read);
  } else {
    // One round trip: the event is written and the subscriptions it may go to are read in the same statement.
    const subscribers = await sql<TaskSubscriber>(db, `WITH recorded AS (${INSERT_EVENT}) ${TASK_SUBSCRIBERS}`, params);
    await fanOutTaskEvent(db, task, notifications, subscribers.rows);
  }
  await noticeOnGitHub(db, task, event.type);
}
