import type { Agent } from "../db/entities/agent.js";
import type { Task } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import { getAgent } from "./agents.js";
import { NotFoundError, ValidationError } from "./errors.js";

/** What an agent key reaches: its own agent, and the tasks and agents of that agent's team. */
export interface AgentScope {
  orgId: string;
  teamId: string;
  agent: Agent;
}

/** The scope of the agent a key belongs to, read fresh on every call (a paused agent still reads). */
export async function agentScope(db: Queryable, orgId: string, agentId: string): Promise<AgentScope> {
  const agent = await getAgent(db, orgId, agentId);
  return { orgId, teamId: agent.team_id, agent };
}

/** The task when it belongs to the scope's team; another team's or organization's task is not found. */
export async function taskInScope(db: Queryable, scope: Pick<AgentScope, "orgId" | "teamId">, taskId: number): Promise<Task> {
  const result = await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1 AND org_id = $2 AND team_id = $3", [taskId, scope.orgId, scope.teamId]);
  if (!result.rows[0]) throw new NotFoundError(`task ${taskId}`);
  return result.rows[0];
}

/** The agent when it belongs to the scope's team; any other agent is not found. */
export async function agentInScope(db: Queryable, scope: Pick<AgentScope, "orgId" | "teamId">, agentId: string): Promise<Agent> {
  const result = await sql<Agent>(db, "SELECT * FROM agents WHERE id = $1 AND org_id = $2 AND team_id = $3", [agentId, scope.orgId, scope.teamId]);
  if (!result.rows[0]) throw new NotFoundError(`agent ${agentId}`);
  return result.rows[0];
}

/** An agent of the scope's team named by its name or its id; anything else is refused with the team's agent names. */
export async function teamAgentNamed(db: Queryable, scope: Pick<AgentScope, "orgId" | "teamId">, nameOrId: string): Promise<Agent> {
  const result = await sql<Agent>(db, "SELECT * FROM agents WHERE org_id = $1 AND team_id = $2 ORDER BY name", [scope.orgId, scope.teamId]);
  const agent = result.rows.find((a) => a.id === nameOrId || a.name === nameOrId);
  if (!agent) {
    throw new ValidationError(`${JSON.stringify(nameOrId)} is not an agent of this team; its agents: ${result.rows.map((a) => a.name).join(", ") || "none"}`, "invalid_assignee");
  }
  return agent;
}
