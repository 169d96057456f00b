import type { AgentMessage } from "../db/entities/agent-message.js";
import { TASK_PRIORITIES, type Task } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import type { AgentScope } from "./agent-scope.js";
import { takeUnreadMessages } from "./agent-messages.js";
import { FINISHED } from "./task-states.js";

export interface Inbox {
  agent: { id: string; name: string; role: string; status: string };
  tasks: Task[];
  messages: AgentMessage[];
}

/** Dispatched tasks first (the agent is expected on them), then the most urgent, then the oldest. */
export function inboxOrder(a: Task, b: Task): number {
  return Number(a.dispatched_at === null) - Number(b.dispatched_at === null)
    || TASK_PRIORITIES.indexOf(a.priority) - TASK_PRIORITIES.indexOf(b.priority)
    || a.created_at.getTime() - b.created_at.getTime()
    || a.id - b.id;
}

/** What an agent should look at: its unfinished tasks and its unread messages (handed over once, then read). */
export async function agentInbox(db: Queryable, scope: AgentScope): Promise<Inbox> {
  const tasks = await sql<Task>(
    db,
    "SELECT * FROM tasks WHERE assignee_id = $1 AND org_id = $2 AND status <> ALL($3::text[])",
    [scope.agent.id, scope.orgId, [...FINISHED]],
  );
  const { id, name, role, status } = scope.agent;
  return {
    agent: { id, name, role, status },
    tasks: tasks.rows.sort(inboxOrder),
    messages: await takeUnreadMessages(db, scope.orgId, scope.agent.id),
  };
}
