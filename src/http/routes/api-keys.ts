import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import type { ApiKeyRole } from "../../db/entities/api-key.js";
import { createAgentKey, createApiKey, listApiKeys, revokeApiKey } from "../../domain/api-keys.js";
import { adminOnly } from "../auth.js";
import { apiKey, createdAgentKey, createdApiKey, noContent, page } from "../responses.js";
import { idParams, nameText, pageQuery } from "../schemas.js";

const API_KEY_ROLES = ["admin", "agent"] as const satisfies readonly ApiKeyRole[];

const createBody = z.strictObject({
  name: nameText(200),
  role: z.enum(API_KEY_ROLES).default("admin"),
});

/** Managing credentials is an admin's job: every route here is admin-only. */
export async function apiKeyRoutes(scope: FastifyInstance, opts: { db: DataSource }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post("/api/v1/api-keys", {
    schema: { tags: ["api-keys"], summary: "Create an API key (the key is shown only in this answer)", body: createBody, response: { 201: createdApiKey } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const { record, key } = await createApiKey(db, { orgId: request.principal.orgId, name: request.body.name, role: request.body.role });
    return reply.status(201).header("cache-control", "no-store").send({ ...record, api_key: key });
  });

  app.post("/api/v1/agents/:id/keys", {
    schema: { tags: ["api-keys"], summary: "Create a key that acts as this agent, on its team's tasks only (the key is shown only in this answer)", params: idParams, response: { 201: createdAgentKey } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const { record, key } = await createAgentKey(db, request.principal.orgId, request.params.id);
    return reply.status(201).header("cache-control", "no-store")
      .send({ id: record.id, agent_id: record.agent_id, key, created_at: record.created_at });
  });

  app.get("/api/v1/api-keys", {
    schema: { tags: ["api-keys"], summary: "List the organization's API keys, newest first, revoked ones included (never the key or its hash)", querystring: pageQuery, response: { 200: page(apiKey) } },
    preHandler: adminOnly,
  }, async (request) => listApiKeys(db, request.principal.orgId, request.query));

  app.delete("/api/v1/api-keys/:id", {
    schema: { tags: ["api-keys"], summary: "Revoke an API key at once; revoking it again changes nothing", params: idParams, response: { 204: noContent } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    await revokeApiKey(db, request.principal.orgId, request.params.id);
    return reply.status(204).send();
  });
}
