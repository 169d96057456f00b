import { v7 as uuid7 } from "uuid";
import type { Task } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import { scheduleJob } from "./outbox.js";

/** Changes the status comment shows: its issue's comment is edited after each (an edit notifies no one). */
const STATUS_CHANGES = new Set([
  "task.created", "task.assigned", "task.unassigned", "task.status_changed", "task.updated", "task.run_started", "task.run_finished",
  "task.pull_request_opened", "task.pull_request_closed", "task.needs_human", "task.retried", "task.question_asked", "task.answered",
]);

/**
 * What a task change shows on GitHub: the status comment of the task (and of its parent, which lists its
 * sub-tasks) edited, and the App's 👀 on the issue when an agent acknowledges it. Tasks from elsewhere show nothing.
 */
export async function noticeOnGitHub(db: Queryable, task: Pick<Task, "id"> & Partial<Pick<Task, "parent_id">>, type: string): Promise<void> {
  if (!STATUS_CHANGES.has(type) && type !== "task.acknowledged") return;
  // A new task shows only in its parent's comment: most have none.
  if (type === "task.created" && task.parent_id === null) return;
  const row = (await sql<{ has_source: boolean; parent_id: number | null; parent_has_source: boolean | null }>(
    db,
    `SELECT t.source IS NOT NULL AS has_source, t.parent_id, p.source IS NOT NULL AS parent_has_source
       FROM tasks t LEFT JOIN tasks p ON p.id = t.parent_id WHERE t.id = $1`,
    [task.id],
  )).rows[0];
  if (!row) return;
  if (type === "task.acknowledged") {
    if (row.has_source) await scheduleJob(db, "github-reaction", { taskId: task.id, content: "eyes" }, { jobId: `reaction-${task.id}-eyes-${uuid7()}` });
    return;
  }
  // A job of its own for each change; a job that finds the comment already showing the task's state asks GitHub nothing.
  if (row.has_source && type !== "task.created") await requestStatusComment(db, task.id);
  if (row.parent_id !== null && row.parent_has_source) await requestStatusComment(db, row.parent_id);
}

async function requestStatusComment(db: Queryable, taskId: number): Promise<void> {
  await scheduleJob(db, "github-comment", { taskId, kind: "tracked" }, { jobId: `comment-${taskId}-tracked-${uuid7()}` });
}
