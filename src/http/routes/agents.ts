import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { AGENT_ROLES, AGENT_STATUSES } from "../../db/entities/agent.js";
import { createAgent, getAgent, listAgents, updateAgent } from "../../domain/agents.js";
import { sendAgentMessage } from "../../domain/agent-messages.js";
import type { OutboxRelay } from "../../queue/outbox-relay.js";
import { adminOnly } from "../auth.js";
import { ForbiddenError } from "../../domain/errors.js";
import { agent, agentMessage, page } from "../responses.js";
import { idParams, jsonObject, nameText, pageQuery } from "../schemas.js";

const teamParams = z.object({ team_id: z.uuid() });
const agentName = nameText(100);

const createBody = z.strictObject({
  name: agentName,
  role: z.enum(AGENT_ROLES),
  config: jsonObject.optional(),
});

const patchBody = z.strictObject({
  name: agentName.optional(),
  role: z.enum(AGENT_ROLES).optional(),
  config: jsonObject.optional(),
  status: z.enum(AGENT_STATUSES).optional(),
}).refine((body) => Object.keys(body).length > 0, { message: "give at least one of name, role, config, status" });

const messageBody = z.strictObject({
  task_id: z.number().int().positive().max(2_147_483_647),
  body: z.string().trim().min(1).max(65_536).refine((v) => !v.includes("\u0000"), "must not contain NUL characters"),
  sender: nameText(200).optional(),
});

export async function agentRoutes(scope: FastifyInstance, opts: { db: DataSource; relay: OutboxRelay }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post("/api/v1/teams/:team_id/agents", {
    schema: { tags: ["agents"], summary: "Add an agent to a team (it starts idle)", params: teamParams, body: createBody, response: { 201: agent } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const agent = await createAgent(db, request.principal.orgId, request.params.team_id, request.body);
    await opts.relay.flushQuietly();
    return reply.status(201).send(agent);
  });

  app.get("/api/v1/teams/:team_id/agents", {
    schema: {
      tags: ["agents"],
      summary: "List a team's agents, newest first; filter by status, role",
      params: teamParams,
      querystring: pageQuery.extend({ status: z.enum(AGENT_STATUSES).optional(), role: z.enum(AGENT_ROLES).optional() }),
      response: { 200: page(agent) },
    },
  }, async (request) => {
    const { limit, cursor, ...filters } = request.query;
    return listAgents(db, request.principal.orgId, request.params.team_id, filters, { limit, cursor });
  });

  app.get("/api/v1/agents/:id", {
    schema: { tags: ["agents"], summary: "Show an agent", params: idParams, response: { 200: agent } },
  }, async (request) => getAgent(db, request.principal.orgId, request.params.id));

  app.patch("/api/v1/agents/:id", {
    schema: {
      tags: ["agents"],
      summary: "Change an agent's name, role, config (replaced whole) or status; agent credentials may change only the status",
      params: idParams,
      body: patchBody,
      response: { 200: agent },
    },
  }, async (request) => {
    const { status, ...fields } = request.body;
    // Agents report their own status; renaming or reconfiguring them is an admin's job.
    if (request.principal.role !== "admin" && Object.keys(fields).length > 0) {
      throw new ForbiddenError("agent credentials may change only status; name, role and config need an admin key or token");
    }
    const agent = await updateAgent(db, request.principal.orgId, request.params.id, { ...fields, status });
    // An agent that became idle may be given a waiting task.
    await opts.relay.flushQuietly();
    return agent;
  });

  app.post("/api/v1/agents/:id/messages", {
    schema: { tags: ["agents"], summary: "Leave a message for an agent about a task of its team; its MCP inbox hands it over once", params: idParams, body: messageBody, response: { 201: agentMessage } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    await getAgent(db, request.principal.orgId, request.params.id);
    const { task_id: taskId, body, sender } = request.body;
    const message = await sendAgentMessage(db, { orgId: request.principal.orgId, agentId: request.params.id, taskId, from: { type: "person", name: sender }, body });
    return reply.status(201).send(message);
  });
}
