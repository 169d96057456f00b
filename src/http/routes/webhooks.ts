import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import type { SecretBox } from "../../crypto/secret-box.js";
import { z } from "zod";
import { DELIVERY_STATUSES } from "../../db/entities/delivery.js";
import { TASK_PRIORITIES } from "../../db/entities/task.js";
import { getDelivery, listDeliveries, reopenDelivery } from "../../domain/deliveries.js";
import { NotFoundError } from "../../domain/errors.js";
import { validEventNames } from "../../domain/event-types.js";
import {
  createWebhook, deleteWebhook, getWebhook, listWebhooks, MAX_SECRET_GRACE_SECONDS, regenerateWebhookSecret, updateWebhook,
  WEBHOOK_PROVIDERS, webhookView,
} from "../../domain/webhooks.js";
import type { OutboxRelay } from "../../queue/outbox-relay.js";
import { adminOnly } from "../auth.js";
import { createdWebhook, delivery, deliveryListItem, newSecret, noContent, page, reopenedDelivery, webhook } from "../responses.js";
import { idParams, pageQuery } from "../schemas.js";

const TAGS = ["webhooks"];

const name = z.string().trim().min(1).max(200).refine((v) => !v.includes("\u0000"), "must not contain NUL characters");
// Checked by normalizeEvents (case-insensitive, with an error that lists them); the enum shows the names in the OpenAPI document.
const eventName = z.string().min(1).max(100).meta({
  description: "an event, `event.action` for one action of it, or `*` for every event; case-insensitive",
  enum: validEventNames(),
});
const events = z.array(eventName).min(1).max(200);
const config = z
  .object({
    auto_assign: z.boolean().optional(),
    label_priorities: z.record(z.string().min(1).max(100), z.enum(TASK_PRIORITIES)).optional(),
  })
  .catchall(z.unknown())
  // Postgres jsonb cannot hold NUL characters in strings.
  .refine((v) => !JSON.stringify(v).includes("\\u0000"), "must not contain NUL characters");

const createBody = z.strictObject({
  org_id: z.uuid().optional(),
  team_id: z.uuid().nullable().optional(),
  name,
  provider: z.enum(WEBHOOK_PROVIDERS).exclude(["github_app"]).default("github"),
  events,
  config: config.default({}),
});

const updateBody = z
  .strictObject({
    name: name.optional(),
    team_id: z.uuid().nullable().optional(),
    events: events.optional(),
    active: z.boolean().optional(),
    config: config.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "name at least one of name, team_id, events, active, config");

// The guide's curl sends no body at all, which Fastify validates as null.
const regenerateBody = z
  .strictObject({ grace_seconds: z.number().int().min(0).max(MAX_SECRET_GRACE_SECONDS).default(0) })
  .nullish();

const deliveryParams = idParams.extend({ delivery_id: z.uuid() });

export async function webhookRoutes(scope: FastifyInstance, opts: { db: DataSource; relay: OutboxRelay; box: SecretBox }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post("/api/v1/webhooks", {
    schema: { tags: TAGS, summary: "Register a webhook; the answer holds its secret, shown only here", body: createBody, response: { 201: createdWebhook } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const { orgId } = request.principal;
    const body = request.body;
    // The guide sends org_id; it must be the caller's own.
    if (body.org_id && body.org_id !== orgId) throw new NotFoundError(`organization ${body.org_id}`);
    const { webhook, secret } = await createWebhook(db, opts.box, {
      orgId, teamId: body.team_id, name: body.name, provider: body.provider, events: body.events, config: body.config,
    });
    return reply.status(201).send({ ...webhookView(webhook), secret });
  });

  app.get("/api/v1/webhooks", {
    schema: { tags: TAGS, summary: "List the organization's webhooks, newest first", querystring: pageQuery, response: { 200: page(webhook) } },
  }, async (request) => listWebhooks(db, request.principal.orgId, request.query));

  app.get("/api/v1/webhooks/:id", {
    schema: { tags: TAGS, summary: "Show a webhook (never its secret)", params: idParams, response: { 200: webhook } },
  }, async (request) => webhookView(await getWebhook(db, request.principal.orgId, request.params.id)));

  app.patch("/api/v1/webhooks/:id", {
    schema: {
      tags: TAGS,
      summary: "Change a webhook's name, team, events, active flag or config (config is replaced whole)",
      params: idParams,
      body: updateBody,
      response: { 200: webhook },
    },
    preHandler: adminOnly,
  }, async (request) => {
    const { name: newName, team_id, events: newEvents, active, config: newConfig } = request.body;
    const webhook = await updateWebhook(db, request.principal.orgId, request.params.id, {
      name: newName, teamId: team_id, events: newEvents, active, config: newConfig,
    });
    return webhookView(webhook);
  });

  app.delete("/api/v1/webhooks/:id", {
    schema: { tags: TAGS, summary: "Delete a webhook; its delivery history stays readable", params: idParams, response: { 204: noContent } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    await deleteWebhook(db, request.principal.orgId, request.params.id);
    return reply.status(204).send();
  });

  app.post("/api/v1/webhooks/:id/regenerate-secret", {
    schema: {
      tags: TAGS,
      summary: "Replace the webhook's secret; grace_seconds keeps the old one valid that much longer",
      params: idParams,
      body: regenerateBody,
      response: { 200: newSecret },
    },
    preHandler: adminOnly,
  }, async (request) =>
    regenerateWebhookSecret(db, opts.box, request.principal.orgId, request.params.id, request.body?.grace_seconds ?? 0));

  app.get("/api/v1/webhooks/:id/deliveries", {
    schema: {
      tags: TAGS,
      summary: "List a webhook's deliveries, newest first (also after the webhook was deleted)",
      params: idParams,
      querystring: pageQuery.extend({ status: z.enum(DELIVERY_STATUSES).optional(), event_type: z.string().min(1).optional() }),
      response: { 200: page(deliveryListItem) },
    },
  }, async (request) => {
    const { orgId } = request.principal;
    const webhook = await getWebhook(db, orgId, request.params.id, { withDeleted: true });
    const { status, event_type, ...page } = request.query;
    return listDeliveries(db, orgId, webhook.id, { status, event_type }, page);
  });

  app.get("/api/v1/webhooks/:id/deliveries/:delivery_id", {
    schema: { tags: TAGS, summary: "Show one delivery with its full payload", params: deliveryParams, response: { 200: delivery } },
  }, async (request) => {
    const { orgId } = request.principal;
    const { receiver: _r, github_installation_id: _g, ...delivery } = await getDelivery(db, orgId, request.params.id, request.params.delivery_id);
    return delivery;
  });

  app.post("/api/v1/webhooks/:id/deliveries/:delivery_id/redeliver", {
    schema: {
      tags: TAGS,
      summary: "Process a stored delivery again; it never makes a second task",
      params: deliveryParams,
      response: { 202: reopenedDelivery },
    },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const { orgId } = request.principal;
    const webhook = await getWebhook(db, orgId, request.params.id);
    const { id } = await reopenDelivery(db, orgId, webhook.id, request.params.delivery_id);
    await opts.relay.flushQuietly();
    return reply.status(202).send({ delivery_id: id, status: "received" });
  });
}
