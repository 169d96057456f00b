import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import type { DataSource } from "typeorm";
import { agentInScope, agentScope, taskInScope, type AgentScope } from "../domain/agent-scope.js";
import { NotFoundError } from "../domain/errors.js";
import { errorBody } from "./errors.js";

type Params = { id?: string | number; team_id?: string };
type Check = (db: DataSource, scope: AgentScope, params: Params) => Promise<string | void>;

const sameTeam: Check = async (_db, scope, params) => {
  // Another team answers like an unknown one, so an agent cannot probe for teams.
  if (params.team_id !== scope.teamId) throw new NotFoundError(`team ${params.team_id}`);
};
const task: Check = async (db, scope, params) => {
  await taskInScope(db, scope, Number(params.id));
};
const teamAgent: Check = async (db, scope, params) => {
  await agentInScope(db, scope, String(params.id));
};
const ownAgent: Check = async (db, scope, params) => {
  await agentInScope(db, scope, String(params.id));
  if (params.id !== scope.agent.id) return "an agent key may change only its own agent's status";
};

// MCP tools and the runner's routes keep to the agent's team and runs themselves.
const nothingToCheck: Check = async () => undefined;

/** The routes an agent key may call, each with the check that keeps it to its team. */
const AGENT_ROUTES: Record<string, Check> = {
  "GET /api/v1/teams/:team_id/tasks": sameTeam,
  "POST /api/v1/teams/:team_id/tasks": sameTeam,
  "GET /api/v1/teams/:team_id/agents": sameTeam,
  "GET /api/v1/tasks/:id": task,
  "PATCH /api/v1/tasks/:id": task,
  "POST /api/v1/tasks/:id/status": task,
  "POST /api/v1/tasks/:id/acknowledge": task,
  "POST /api/v1/tasks/:id/subtasks": task,
  "PUT /api/v1/tasks/:id/dependencies": task,
  "GET /api/v1/tasks/:id/events": task,
  "GET /api/v1/agents/:id": teamAgent,
  "PATCH /api/v1/agents/:id": ownAgent,
  "POST /api/v1/tasks/:id/git-credentials": task,
  "POST /api/v1/tasks/:id/pull-request": task,
  "GET /api/v1/tasks/:id/runs": task,
  "GET /api/v1/tasks/:id/runs/:run_id": task,
  // The runner's routes keep to the agent's own runs themselves.
  "POST /api/v1/runner/claim": nothingToCheck,
  "POST /api/v1/runs/:run_id/heartbeat": nothingToCheck,
  "POST /api/v1/runs/:run_id/finish": nothingToCheck,
  "POST /mcp": nothingToCheck,
  "GET /mcp": nothingToCheck,
  "DELETE /mcp": nothingToCheck,
};

/**
 * Keeps a request made with an agent key to its agent's team: another team's or organization's
 * object is not found (404), and every route outside the list above (the admin routes) is forbidden (403).
 */
export function confineAgentKeys(db: DataSource): preHandlerAsyncHookHandler {
  return async function confine(request: FastifyRequest, reply: FastifyReply) {
    const { agentId, orgId } = request.principal;
    if (!agentId) return;
    const check = AGENT_ROUTES[`${request.method} ${request.routeOptions.url}`];
    if (!check) {
      await reply.status(403).send(errorBody("forbidden", "an agent key reaches only its team's tasks and agents; this route needs an admin key or token"));
      return;
    }
    const refusal = await check(db, await agentScope(db, orgId, agentId), request.params as Params);
    if (refusal) await reply.status(403).send(errorBody("forbidden", refusal));
  };
}
