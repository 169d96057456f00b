import type { Agent } from "../db/entities/agent.js";
import type { RunOutcome } from "../db/entities/task-run.js";
import type { TaskStatus } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import type { ApiKeyView } from "./api-keys.js";
import { FINISHED } from "./task-states.js";

/** The most agents one page lists. */
export const MAX_LISTED_AGENTS = 500;
const RECENT_RUNS = 5;

/** Every agent of the organization with its team's name, by team then name. */
export async function listOrganizationAgents(db: Queryable, orgId: string): Promise<(Agent & { team_name: string })[]> {
  const result = await sql<Agent & { team_name: string }>(
    db,
    `SELECT a.*, t.name AS team_name FROM agents a JOIN teams t ON t.id = a.team_id
      WHERE a.org_id = $1 ORDER BY t.name, t.id, a.name LIMIT ${MAX_LISTED_AGENTS}`,
    [orgId],
  );
  return result.rows;
}

export interface AgentTask {
  id: number;
  title: string;
  status: TaskStatus;
}

export interface AgentRun {
  id: string;
  task_id: number;
  number: number;
  outcome: RunOutcome;
  reason: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export interface AgentActivity {
  /** Its open tasks, the most recently changed first. */
  tasks: AgentTask[];
  runs: AgentRun[];
  keys: Omit<ApiKeyView, "org_id" | "agent_id">[];
}

function group<T extends { agent_id: string }>(rows: T[]): Map<string, Omit<T, "agent_id">[]> {
  const groups = new Map<string, Omit<T, "agent_id">[]>();
  for (const { agent_id, ...row } of rows) groups.set(agent_id, [...(groups.get(agent_id) ?? []), row]);
  return groups;
}

/** What each agent is doing: its open tasks, its last runs and its keys, in three queries for all of them. */
export async function agentActivity(db: Queryable, orgId: string, agentIds: readonly string[]): Promise<Map<string, AgentActivity>> {
  const tasks = await sql<AgentTask & { agent_id: string }>(
    db,
    `SELECT assignee_id AS agent_id, id, title, status FROM tasks
      WHERE org_id = $1 AND assignee_id = ANY($2::uuid[]) AND status <> ALL($3::text[]) ORDER BY updated_at DESC`,
    [orgId, agentIds, FINISHED],
  );
  const runs = await sql<AgentRun & { agent_id: string }>(
    db,
    `SELECT r.agent_id, r.id, r.task_id, r.number, r.outcome, r.reason, r.started_at, r.finished_at
       FROM unnest($2::uuid[]) AS a(id)
       CROSS JOIN LATERAL (SELECT * FROM task_runs WHERE org_id = $1 AND agent_id = a.id ORDER BY started_at DESC LIMIT ${RECENT_RUNS}) r`,
    [orgId, agentIds],
  );
  const keys = await sql<AgentActivity["keys"][number] & { agent_id: string }>(
    db,
    `SELECT agent_id, id, name, role, key_prefix, last_used_at, revoked_at, created_at FROM api_keys
      WHERE org_id = $1 AND agent_id = ANY($2::uuid[]) ORDER BY created_at DESC`,
    [orgId, agentIds],
  );
  const byTask = group(tasks.rows);
  const byRun = group(runs.rows);
  const byKey = group(keys.rows);
  return new Map(agentIds.map((id) => [id, { tasks: byTask.get(id) ?? [], runs: byRun.get(id) ?? [], keys: byKey.get(id) ?? [] }]));
}
