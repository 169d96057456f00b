import type { EntityManager } from "typeorm";
import type { Agent } from "../db/entities/agent.js";
import type { Task } from "../db/entities/task.js";
import { inTurn, sql, type Queryable } from "../db/sql.js";
import { scheduleJob } from "./outbox.js";
import { PRIORITY_ORDER } from "./priorities.js";
import { FINISHED } from "./task-states.js";
import { recordTaskEvent, SYSTEM_ACTOR, type Actor } from "./task-events.js";

/** Engineers first, then the agent idle the longest, ties by name; locked rows belong to another assignment. */
const NEXT_IDLE_AGENT = `
  SELECT * FROM agents
   WHERE team_id = $1 AND status = 'idle'
   ORDER BY (role = 'engineer') DESC, idle_since ASC NULLS LAST, name ASC
   LIMIT 1
   FOR UPDATE SKIP LOCKED`;

/** The most urgent waiting task first (`$2` is PRIORITY_ORDER), then the oldest. */
const NEXT_WAITING_TASK = `
  SELECT * FROM tasks
   WHERE team_id = $1 AND status = 'todo' AND assignee_id IS NULL AND auto_assign
   ORDER BY array_position($2::text[], priority), created_at, id
   LIMIT 1
   FOR UPDATE SKIP LOCKED`;

/**
 * Hands `task` to an agent: a new dispatch round (so jobs of an earlier assignment do nothing),
 * the audit row, and a dispatch job that tells the agent to start after the transaction commits.
 */
export async function giveTask(manager: EntityManager, task: Task, agent: Pick<Agent, "id" | "name">, actor: Actor): Promise<Task> {
  const updated = await sql<Task>(
    manager,
    `UPDATE tasks SET assignee_id = $2, dispatch_round = dispatch_round + 1, dispatched_at = NULL,
            acknowledged_at = NULL, updated_at = now()
      WHERE id = $1 RETURNING *`,
    [task.id, agent.id],
  );
  const assigned = updated.rows[0]!;
  await recordTaskEvent(manager, assigned, { type: "task.assigned", actor, data: { agent_id: agent.id, agent_name: agent.name } });
  await scheduleJob(manager, "dispatch", { taskId: assigned.id, round: assigned.dispatch_round },
    { jobId: `dispatch-${assigned.id}-${assigned.dispatch_round}` });
  if (task.assignee_id && task.assignee_id !== agent.id) await releaseAgent(manager, task.assignee_id);
  return assigned;
}

/** Takes the task away from its agent; the agent is free again once none of its tasks is open. */
export async function unassignTask(manager: EntityManager, task: Task, actor: Actor): Promise<Task> {
  if (!task.assignee_id) return task;
  const updated = (await sql<Task>(
    manager,
    `UPDATE tasks SET assignee_id = NULL, dispatch_round = dispatch_round + 1, dispatched_at = NULL,
            acknowledged_at = NULL, updated_at = now()
      WHERE id = $1 RETURNING *`,
    [task.id],
  )).rows[0]!;
  await recordTaskEvent(manager, updated, { type: "task.unassigned", actor, data: { agent_id: task.assignee_id } });
  await releaseAgent(manager, task.assignee_id);
  return updated;
}

/** Auto-assignment: the agent is reserved (working) at once, so that no other task takes it. */
export async function assignTask(manager: EntityManager, task: Task, agent: Agent, actor: Actor): Promise<Task> {
  await sql(manager, "UPDATE agents SET status = 'working', idle_since = NULL, updated_at = now() WHERE id = $1", [agent.id]);
  return giveTask(manager, task, agent, actor);
}

/** Tries to give a freshly created auto-assign task to an idle agent; it waits in `todo` when none is free. */
export function assignIfIdleAgent(manager: EntityManager, task: Task): Promise<Task> {
  // SKIP LOCKED does not skip the agents this transaction holds: deliveries of one batch pick in turn.
  return inTurn(manager, async () => {
    const agent = (await sql<Agent>(manager, NEXT_IDLE_AGENT, [task.team_id])).rows[0];
    if (!agent) {
      // Another transaction may be freeing an agent right now: the assign job looks again after commits.
      await scheduleJob(manager, "assign", { teamId: task.team_id });
      return task;
    }
    return assignTask(manager, task, agent, SYSTEM_ACTOR);
  });
}

/** Pairs one idle agent with one waiting task of the team; false when no pair is free. */
export async function assignOne(manager: EntityManager, teamId: string): Promise<boolean> {
  const task = (await sql<Task>(manager, NEXT_WAITING_TASK, [teamId, PRIORITY_ORDER])).rows[0];
  if (!task) return false;
  const agent = (await sql<Agent>(manager, NEXT_IDLE_AGENT, [teamId])).rows[0];
  if (!agent) return false;
  await assignTask(manager, task, agent, SYSTEM_ACTOR);
  return true;
}

/**
 * Makes an agent idle when none of its tasks is still open, and asks for the team's waiting
 * tasks to be handed out again.
 */
export async function releaseAgent(db: Queryable, agentId: string): Promise<void> {
  const released = await sql<Agent>(
    db,
    `UPDATE agents SET status = 'idle', idle_since = now(), updated_at = now()
      WHERE id = $1 AND status = 'working'
        AND NOT EXISTS (SELECT 1 FROM tasks WHERE assignee_id = $1 AND status <> ALL($2::text[]))
      RETURNING *`,
    [agentId, FINISHED],
  );
  const agent = released.rows[0];
  if (agent) await scheduleJob(db, "assign", { teamId: agent.team_id });
}

/**
 * Whether the team still has an idle agent and a waiting task, read without locks: a pair that assignOne
 * skipped because another transaction held the task (or the agent) at that moment.
 */
export async function pairLeft(db: Queryable, teamId: string): Promise<boolean> {
  const result = await sql<{ left: boolean }>(
    db,
    `SELECT EXISTS (SELECT 1 FROM agents WHERE team_id = $1 AND status = 'idle')
        AND EXISTS (SELECT 1 FROM tasks WHERE team_id = $1 AND status = 'todo' AND assignee_id IS NULL AND auto_assign) AS left`,
    [teamId],
  );
  return result.rows[0]!.left;
}
