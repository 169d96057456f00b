import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { DELIVERY_STATUSES } from "../../db/entities/delivery.js";
import { getDelivery, listDeliveries } from "../../domain/deliveries.js";
import { createWebhook, getWebhook, listWebhooks, WEBHOOK_PROVIDERS, webhookView } from "../../domain/webhooks.js";
import { idParams, pageQuery } from "../schemas.js";

const createBody = z.object({
  org_id: z.uuid().optional(),
  team_id: z.uuid().nullable().optional(),
  name: z.string().trim().min(1).max(200),
  provider: z.enum(WEBHOOK_PROVIDERS).exclude(["github_app"]).default("github"),
  events: z.array(z.string().min(1)).min(1),
  config: z.object({ auto_assign: z.boolean().optional() }).catchall(z.unknown()).default({}),
});

export async function webhookRoutes(scope: FastifyInstance, opts: { db: DataSource }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post("/api/v1/webhooks", { schema: { body: createBody } }, async (request, reply) => {
    const { orgId } = request.principal;
    const body = request.body;
    // The guide sends org_id; it must be the caller's own.
    if (body.org_id && body.org_id !== orgId) return reply.status(404).send({ error: { code: "not_found", message: `organization ${body.org_id} not found` } });
    const { webhook, secret } = await createWebhook(db, {
      orgId, teamId: body.team_id, name: body.name, provider: body.provider, events: body.events, config: body.config,
    });
    return reply.status(201).send({ ...webhookView(webhook), secret });
  });

  app.get("/api/v1/webhooks", { schema: { querystring: pageQuery } }, async (request) =>
    listWebhooks(db, request.principal.orgId, request.query));

  app.get("/api/v1/webhooks/:id", { schema: { params: idParams } }, async (request) =>
    webhookView(await getWebhook(db, request.principal.orgId, request.params.id)));

  app.get("/api/v1/webhooks/:id/deliveries", {
    schema: {
      params: idParams,
      querystring: pageQuery.extend({ status: z.enum(DELIVERY_STATUSES).optional(), event_type: z.string().min(1).optional() }),
    },
  }, async (request) => {
    const { orgId } = request.principal;
    const webhook = await getWebhook(db, orgId, request.params.id, { withDeleted: true });
    const { status, event_type, ...page } = request.query;
    return listDeliveries(db, orgId, webhook.id, { status, event_type }, page);
  });

  app.get("/api/v1/webhooks/:id/deliveries/:delivery_id", {
    schema: { params: idParams.extend({ delivery_id: z.uuid() }) },
  }, async (request) => {
    const { orgId } = request.principal;
    const { receiver: _r, github_installation_id: _g, ...delivery } = await getDelivery(db, orgId, request.params.id, request.params.delivery_id);
    return delivery;
  });
}
