import type { DataSource } from "typeorm";
import type { Agent, AgentRole, AgentStatus } from "../db/entities/agent.js";
import { SetList } from "../db/set-list.js";
import { pgErrorCode } from "../db/pg-error-code.js";
import { sql, type Queryable } from "../db/sql.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { dispatchWaitingFor } from "./dispatch.js";
import { scheduleJob } from "./outbox.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";
import { getTeam } from "./teams.js";

function nameTaken(name: string | undefined): ConflictError {
  return new ConflictError(`the team already has an agent named ${name}`, "agent_name_taken");
}

/** A new agent starts idle (idle_since now), with its team's assign job in the same transaction; a name the team already has is a conflict. */
export async function createAgent(
  db: DataSource,
  orgId: string,
  teamId: string,
  input: { name: string; role: AgentRole; config?: Record<string, unknown> },
): Promise<Agent> {
  return db.transaction(async (manager) => {
    await getTeam(manager, orgId, teamId);
    const result = await sql<Agent>(
      manager,
      `INSERT INTO agents (org_id, team_id, name, role, config) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (team_id, name) DO NOTHING RETURNING *`,
      [orgId, teamId, input.name, input.role, JSON.stringify(input.config ?? {})],
    );
    const agent = result.rows[0];
    if (!agent) throw nameTaken(input.name);
    // A new agent is idle: it may take a waiting task at once.
    await scheduleJob(manager, "assign", { teamId });
    return agent;
  });
}

export async function getAgent(db: Queryable, orgId: string, id: string): Promise<Agent> {
  const result = await sql<Agent>(db, "SELECT * FROM agents WHERE id = $1 AND org_id = $2", [id, orgId]);
  if (!result.rows[0]) throw new NotFoundError(`agent ${id}`);
  return result.rows[0];
}

export interface AgentFilters {
  status?: AgentStatus;
  role?: AgentRole;
}

export async function listAgents(
  db: Queryable,
  orgId: string,
  teamId: string,
  filters: AgentFilters,
  page: PageRequest,
): Promise<Page<Agent>> {
  await getTeam(db, orgId, teamId);
  const where = ["org_id = $1", "team_id = $2"];
  const params: unknown[] = [orgId, teamId];
  if (filters.status) {
    params.push(filters.status);
    where.push(`status = $${params.length}`);
  }
  if (filters.role) {
    params.push(filters.role);
    where.push(`role = $${params.length}`);
  }
  const query = pageQuery({ select: "SELECT * FROM agents", where, params }, page, "uuid");
  const result = await sql<Agent>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}

/**
 * Sets the agent's status. Becoming idle starts idle_since (staying idle keeps it, so the
 * longest-idle order holds); leaving idle clears it. One statement, so concurrent calls cannot interleave.
 * An idle agent is offered the team's waiting tasks, and its own tasks that waited while it was paused.
 */
export async function setAgentStatus(db: Queryable, orgId: string, agentId: string, status: AgentStatus): Promise<Agent> {
  const result = await sql<Agent>(
    db,
    `UPDATE agents SET
       idle_since = CASE WHEN $3 <> 'idle' THEN NULL WHEN status = 'idle' THEN COALESCE(idle_since, now()) ELSE now() END,
       updated_at = CASE WHEN status = $3 THEN updated_at ELSE now() END,
       status = $3
     WHERE id = $1 AND org_id = $2 RETURNING *`,
    [agentId, orgId, status],
  );
  const agent = result.rows[0];
  if (!agent) throw new NotFoundError(`agent ${agentId}`);
  if (status === "idle") {
    await scheduleJob(db, "assign", { teamId: agent.team_id });
    await dispatchWaitingFor(db, agent.id);
  }
  return agent;
}

export interface AgentChanges {
  name?: string;
  role?: AgentRole;
  /** Replaces the whole config. */
  config?: Record<string, unknown>;
  status?: AgentStatus;
}

/** Applies the changes in one transaction; a status change goes through setAgentStatus. */
export async function updateAgent(db: DataSource, orgId: string, id: string, changes: AgentChanges): Promise<Agent> {
  const { status, ...fields } = changes;
  try {
    return await db.transaction(async (manager) => {
      const params: unknown[] = [id, orgId];
      const set = new SetList(params);
      if (fields.name !== undefined) set.set("name", fields.name);
      if (fields.role !== undefined) set.set("role", fields.role);
      if (fields.config !== undefined) set.set("config", JSON.stringify(fields.config));
      let agent = !set.isEmpty
        ? (await sql<Agent>(manager, `UPDATE agents SET ${set.toSql()} WHERE id = $1 AND org_id = $2 RETURNING *`, params)).rows[0]
        : await getAgent(manager, orgId, id);
      if (!agent) throw new NotFoundError(`agent ${id}`);
      if (status !== undefined) agent = await setAgentStatus(manager, orgId, id, status);
      return agent;
    });
  } catch (error) {
    if (pgErrorCode(error) === "23505") throw nameTaken(fields.name);
    throw error;
  }
}
