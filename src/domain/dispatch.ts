import type { DataSource } from "typeorm";
import type { Task } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import { ConflictError } from "./errors.js";
import { scheduleJob } from "./outbox.js";
import { FINISHED } from "./task-states.js";
import { lockTask } from "./task-moves.js";
import { recordTaskEvent, SYSTEM_ACTOR, type Actor } from "./task-events.js";

async function isPaused(db: Queryable, agentId: string): Promise<boolean> {
  const result = await sql<{ status: string }>(db, "SELECT status FROM agents WHERE id = $1", [agentId]);
  return result.rows[0]?.status === "paused";
}

/** Asks for the agent's assigned tasks that were never dispatched (it was paused) to be dispatched now. */
export async function dispatchWaitingFor(db: Queryable, agentId: string): Promise<void> {
  const waiting = await sql<{ id: number; dispatch_round: number }>(
    db,
    "SELECT id, dispatch_round FROM tasks WHERE assignee_id = $1 AND dispatched_at IS NULL AND status NOT IN ('done', 'cancelled', 'archived')",
    [agentId],
  );
  for (const task of waiting.rows) await scheduleJob(db, "dispatch", { taskId: task.id, round: task.dispatch_round });
}

/**
 * Starts the agent on its task: the task gets dispatched_at, the agent is working, a
 * task.dispatched event is recorded, and the acknowledgement clock starts. A job from an
 * earlier assignment (another round) does nothing.
 */
export async function dispatchTask(db: DataSource, taskId: number, round: number, ackTimeoutMs: number): Promise<boolean> {
  return db.transaction(async (manager) => {
    const task = await lockTask(manager, null, taskId);
    if (task.dispatch_round !== round || !task.assignee_id || task.dispatched_at || FINISHED.includes(task.status)) return false;
    // A paused agent is dispatched nothing; it gets its task when it is set idle again.
    if (await isPaused(manager, task.assignee_id)) return false;
    const dispatched = (await sql<Task>(manager, "UPDATE tasks SET dispatched_at = now(), updated_at = now() WHERE id = $1 RETURNING *", [taskId])).rows[0]!;
    await sql(manager, "UPDATE agents SET status = 'working', idle_since = NULL, updated_at = now() WHERE id = $1 AND status = 'idle'", [task.assignee_id]);
    await recordTaskEvent(manager, dispatched, { type: "task.dispatched", actor: SYSTEM_ACTOR, data: { agent_id: task.assignee_id, round } });
    if (!dispatched.acknowledged_at) {
      await scheduleJob(manager, "dispatch-timeout", { taskId, round }, { jobId: `dispatch-timeout-${taskId}-${round}`, delayMs: ackTimeoutMs });
    }
    return true;
  });
}

/**
 * An agent that never acknowledged its dispatched task is freed from it (and paused), and the task
 * handed out again: from then on it is auto-assigned, also when a person had picked that agent.
 */
export async function expireDispatch(db: DataSource, taskId: number, round: number): Promise<boolean> {
  return db.transaction(async (manager) => {
    const task = await lockTask(manager, null, taskId);
    if (task.dispatch_round !== round || task.acknowledged_at || task.status !== "todo" || !task.assignee_id) return false;
    const agentId = task.assignee_id;
    const freed = (await sql<Task>(
      manager,
      "UPDATE tasks SET assignee_id = NULL, dispatched_at = NULL, auto_assign = true, updated_at = now() WHERE id = $1 RETURNING *",
      [taskId],
    )).rows[0]!;
    await recordTaskEvent(manager, freed, {
      type: "task.dispatch_expired", actor: SYSTEM_ACTOR, data: { agent_id: agentId, round, auto_assign: { from: task.auto_assign, to: true } },
    });
    // An agent that does not answer is paused, so it is not handed the same work again; setting it idle brings it back.
    await sql(
      manager,
      `UPDATE agents SET status = 'paused', idle_since = NULL, updated_at = now()
        WHERE id = $1 AND status = 'working'
          AND NOT EXISTS (SELECT 1 FROM tasks WHERE assignee_id = $1 AND status <> ALL($2::text[]))`,
      [agentId, FINISHED],
    );
    await scheduleJob(manager, "assign", { teamId: freed.team_id });
    return true;
  });
}

/** The assigned agent confirms it has started; idempotent. An agent key may acknowledge only its own task. */
export async function acknowledgeTask(db: DataSource, orgId: string, taskId: number, actor: Actor): Promise<Task> {
  return db.transaction(async (manager) => {
    const task = await lockTask(manager, orgId, taskId);
    if (actor.type === "agent" && task.assignee_id !== actor.id) {
      throw new ConflictError(`task #${task.id} is ${task.assignee_id ? "assigned to another agent" : "not assigned"}; only its assignee acknowledges it`, "not_assignee");
    }
    if (task.acknowledged_at) return task;
    const acknowledged = (await sql<Task>(manager, "UPDATE tasks SET acknowledged_at = now(), updated_at = now() WHERE id = $1 RETURNING *", [taskId])).rows[0]!;
    await recordTaskEvent(manager, acknowledged, { type: "task.acknowledged", actor, data: { agent_id: task.assignee_id } });
    return acknowledged;
  });
}
