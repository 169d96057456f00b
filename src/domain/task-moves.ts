import type { DataSource, EntityManager } from "typeorm";
import type { Task, TaskStatus } from "../db/entities/task.js";
import { sql } from "../db/sql.js";
import { releaseAgent } from "./assignment.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { scheduleJob } from "./outbox.js";
import { canMove, FINISHED, TRANSITIONS } from "./task-states.js";
import { recordTaskEvent, SYSTEM_ACTOR, type Actor } from "./task-events.js";

export interface MoveOptions {
  /** A system move (GitHub sync, parent completion) may skip steps of the state machine. */
  system?: boolean;
  /** Why the mover made the move; kept on the event. */
  note?: string;
}

export async function lockTask(manager: EntityManager, orgId: string | null, taskId: number): Promise<Task> {
  const result = await sql<Task>(
    manager,
    `SELECT * FROM tasks WHERE id = $1${orgId ? " AND org_id = $2" : ""} FOR UPDATE`,
    orgId ? [taskId, orgId] : [taskId],
  );
  if (!result.rows[0]) throw new NotFoundError(`task ${taskId}`);
  return result.rows[0];
}

/**
 * SQL that is true when the task `alias` is done, or was done when it was archived: `archived` also
 * follows `cancelled`, and only the move into it (task_events is append-only) tells which.
 */
export function countsAsDone(alias: string): string {
  return `(${alias}.status = 'done' OR (${alias}.status = 'archived' AND EXISTS (
    SELECT 1 FROM task_events e WHERE e.task_id = ${alias}.id AND e.to_status = 'archived' AND e.from_status = 'done')))`;
}

async function unfinishedDependencies(manager: EntityManager, taskId: number): Promise<number[]> {
  const result = await sql<{ id: number }>(
    manager,
    `SELECT t.id FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id
      WHERE d.task_id = $1 AND NOT ${countsAsDone("t")} ORDER BY t.id`,
    [taskId],
  );
  return result.rows.map((r) => r.id);
}

/**
 * Two agents making the same move at once: the second finds the task already moved, by someone else,
 * and is told so rather than answered as if its own move had happened. Repeating one's own move is fine.
 */
async function refuseMoveMadeByAnother(manager: EntityManager, task: Task, actor: Actor): Promise<void> {
  const last = (await sql<{ actor_type: string; actor_id: string | null; agent_name: string | null }>(
    manager,
    `SELECT e.actor_type, e.actor_id, a.name AS agent_name FROM task_events e
       LEFT JOIN agents a ON e.actor_type = 'agent' AND a.id::text = e.actor_id
      WHERE e.task_id = $1 AND e.type = 'task.status_changed' AND e.to_status = $2
      ORDER BY e.created_at DESC, e.id DESC LIMIT 1`,
    [task.id, task.status],
  )).rows[0];
  if (!last || (last.actor_type === actor.type && last.actor_id === actor.id)) return;
  const mover = last.agent_name ? `agent ${last.agent_name}` : last.actor_type;
  const allowed = TRANSITIONS[task.status];
  throw new ConflictError(
    `task #${task.id} is already ${task.status} (${mover} moved it first); allowed from ${task.status}: ${allowed.length ? allowed.join(", ") : "none"}`,
    "already_moved",
  );
}

/**
 * Moves a locked task to `to` inside the caller's transaction; moving to the status it already has
 * changes nothing, and an agent is told when another actor made that move. Its effects:
 * - the task's status and its completed_at and acknowledged_at;
 * - the audit row and its outbound notifications (recordTaskEvent);
 * - on finishing: its agent made idle when it has no other open task, and an "assign" job for the team;
 * - on finishing as done a task from GitHub: the "github-comment" job of its resolution comment;
 * - on finishing a sub-task: its parent moved to done once every sub-task is finished, one at least done.
 */
export async function moveLockedTask(manager: EntityManager, task: Task, to: TaskStatus, actor: Actor, options: MoveOptions = {}): Promise<Task> {
  const from = task.status;
  if (from === to) {
    if (actor.type === "agent") await refuseMoveMadeByAnother(manager, task, actor);
    return task;
  }
  if (!options.system && !canMove(from, to)) {
    const allowed = TRANSITIONS[from];
    throw new ConflictError(
      `task #${task.id} cannot move from ${from} to ${to}; allowed: ${allowed.length ? allowed.join(", ") : "none"}`,
      "illegal_transition",
    );
  }
  if (to === "in_progress" && !options.system) {
    const blockers = await unfinishedDependencies(manager, task.id);
    if (blockers.length > 0) {
      throw new ConflictError(`task #${task.id} is blocked by unfinished dependencies: ${blockers.map((id) => `#${id}`).join(", ")}`, "blocked_by_dependencies");
    }
  }
  const moved = (await sql<Task>(
    manager,
    `UPDATE tasks SET status = $2, updated_at = now(),
            completed_at = CASE WHEN $2 = 'archived' THEN completed_at WHEN $2 = ANY($3::text[]) THEN now() ELSE NULL END,
            acknowledged_at = CASE WHEN $2 = 'in_progress' THEN COALESCE(acknowledged_at, now()) ELSE acknowledged_at END
      WHERE id = $1 RETURNING *`,
    [task.id, to, FINISHED],
  )).rows[0]!;
  const data = { ...(options.system ? { system: true } : {}), ...(options.note ? { note: options.note } : {}) };
  await recordTaskEvent(manager, moved, { type: "task.status_changed", from, to, actor, data });

  if (FINISHED.includes(to) && !FINISHED.includes(from)) {
    if (moved.assignee_id) await releaseAgent(manager, moved.assignee_id);
    if (to === "done" && moved.source) await scheduleJob(manager, "github-comment", { taskId: moved.id, kind: "resolved" }, { jobId: `comment-${moved.id}-resolved` });
    if (moved.parent_id !== null) await closeParentIfFinished(manager, moved.parent_id);
  }
  return moved;
}

/** A parent moves to done by itself once every sub-task is done or cancelled, at least one done. */
async function closeParentIfFinished(manager: EntityManager, parentId: number): Promise<void> {
  const parent = await lockTask(manager, null, parentId);
  if (FINISHED.includes(parent.status)) return;
  const children = await sql<{ open: number; done: number }>(
    manager,
    `SELECT count(*) FILTER (WHERE t.status <> ALL($2::text[]))::integer AS open,
            count(*) FILTER (WHERE ${countsAsDone("t")})::integer AS done
       FROM tasks t WHERE t.parent_id = $1`,
    [parentId, FINISHED],
  );
  const { open, done } = children.rows[0]!;
  if (open === 0 && done > 0) await moveLockedTask(manager, parent, "done", SYSTEM_ACTOR, { system: true });
}

/** Moves a task of the organization, in a transaction of its own. */
export async function moveTask(db: DataSource, orgId: string, taskId: number, to: TaskStatus, actor: Actor, options: MoveOptions = {}): Promise<Task> {
  return db.transaction(async (manager) => moveLockedTask(manager, await lockTask(manager, orgId, taskId), to, actor, options));
}
