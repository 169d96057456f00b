import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import type { SecretBox } from "../../crypto/secret-box.js";
import { OUTBOUND_DELIVERY_STATUSES } from "../../db/entities/outbound-delivery.js";
import { getOutboundDelivery, listOutboundDeliveries, redeliverOutbound } from "../../domain/outbound-deliveries.js";
import { OUTBOUND_EVENTS } from "../../domain/outbound-events.js";
import {
  createOutboundWebhook, deleteOutboundWebhook, getOutboundWebhook, listOutboundWebhooks, outboundWebhookView,
  regenerateOutboundSecret, updateOutboundWebhook,
} from "../../domain/outbound-webhooks.js";
import { MAX_SECRET_GRACE_SECONDS } from "../../domain/webhooks.js";
import { registrationCheck, type UrlGuard } from "../../outbound/url-guard.js";
import type { OutboxRelay } from "../../queue/outbox-relay.js";
import { adminOnly } from "../auth.js";
import {
  createdOutboundWebhook, newSecret, noContent, outboundDelivery, outboundDeliveryListItem, outboundWebhook, page,
} from "../responses.js";
import { idParams, pageQuery } from "../schemas.js";
import { taskIdText } from "../task-fields.js";

const TAGS = ["outbound-webhooks"];

const url = z.string().trim().min(1).max(2048).describe("https URL; http only to a loopback host named in OUTBOUND_ALLOWED_HOSTS");
const events = z.array(z.string().min(1).max(100)).min(1).max(50).describe(`any of ${OUTBOUND_EVENTS.join(", ")}, or *`);
// Sent as a header: printable ASCII only, so it can never break the request.
const apiKey = z.string().min(1).max(1000).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

const createBody = z.object({
  url,
  events,
  team_id: z.uuid().nullable().optional(),
  api_key: apiKey.optional(),
  active: z.boolean().default(true),
});

const updateBody = z
  .strictObject({
    url: url.optional(),
    events: events.optional(),
    team_id: z.uuid().nullable().optional(),
    api_key: apiKey.nullable().optional(),
    active: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "name at least one of url, events, team_id, api_key, active");

// Like the inbound webhooks' route, a call without a body regenerates with no grace period.
const regenerateBody = z
  .strictObject({ grace_seconds: z.number().int().min(0).max(MAX_SECRET_GRACE_SECONDS).default(0) })
  .nullish();

const deliveryParams = idParams.extend({ delivery_id: z.uuid() });

const deliveriesQuery = pageQuery.extend({
  status: z.enum(OUTBOUND_DELIVERY_STATUSES).optional(),
  event: z.enum(OUTBOUND_EVENTS).optional(),
  task_id: taskIdText.optional(),
});

/** Subscriptions to task notifications, and their delivery log. */
export async function outboundWebhookRoutes(
  scope: FastifyInstance,
  opts: { db: DataSource; box: SecretBox; relay: OutboxRelay; guard: UrlGuard },
): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db, box, relay } = opts;
  const checkUrl = registrationCheck(opts.guard);

  app.post("/api/v1/outbound-webhooks", {
    schema: { tags: TAGS, summary: "Subscribe a URL to task notifications; the answer holds the signing secret, shown only here", body: createBody, response: { 201: createdOutboundWebhook } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const body = request.body;
    const { webhook, secret } = await createOutboundWebhook(db, box, checkUrl, {
      orgId: request.principal.orgId, teamId: body.team_id, url: body.url, events: body.events, apiKey: body.api_key, active: body.active,
    });
    return reply.status(201).send({ ...outboundWebhookView(webhook), secret });
  });

  app.get("/api/v1/outbound-webhooks", {
    schema: { tags: TAGS, summary: "List the organization's outbound webhooks, newest first", querystring: pageQuery, response: { 200: page(outboundWebhook) } },
  }, async (request) => listOutboundWebhooks(db, request.principal.orgId, request.query));

  app.get("/api/v1/outbound-webhooks/:id", {
    schema: { tags: TAGS, summary: "Show an outbound webhook (never its secret or API key)", params: idParams, response: { 200: outboundWebhook } },
  }, async (request) => outboundWebhookView(await getOutboundWebhook(db, request.principal.orgId, request.params.id)));

  app.patch("/api/v1/outbound-webhooks/:id", {
    schema: {
      tags: TAGS,
      summary: "Change an outbound webhook's URL, events, team, API key (null removes it) or active flag",
      params: idParams,
      body: updateBody,
      response: { 200: outboundWebhook },
    },
    preHandler: adminOnly,
  }, async (request) => {
    const { url: newUrl, events: newEvents, team_id, api_key, active } = request.body;
    const webhook = await updateOutboundWebhook(db, box, checkUrl, request.principal.orgId, request.params.id, {
      url: newUrl, events: newEvents, teamId: team_id, apiKey: api_key, active,
    });
    return outboundWebhookView(webhook);
  });

  app.delete("/api/v1/outbound-webhooks/:id", {
    schema: { tags: TAGS, summary: "Delete an outbound webhook; nothing more is sent, its delivery log stays readable", params: idParams, response: { 204: noContent } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    await deleteOutboundWebhook(db, request.principal.orgId, request.params.id);
    return reply.status(204).send();
  });

  app.post("/api/v1/outbound-webhooks/:id/regenerate-secret", {
    schema: {
      tags: TAGS,
      summary: "Replace the signing secret; grace_seconds keeps the old one signing too that much longer",
      params: idParams,
      body: regenerateBody,
      response: { 200: newSecret },
    },
    preHandler: adminOnly,
  }, async (request) => regenerateOutboundSecret(db, box, request.principal.orgId, request.params.id, request.body?.grace_seconds ?? 0));

  app.get("/api/v1/outbound-webhooks/:id/deliveries", {
    schema: {
      tags: TAGS,
      summary: "List an outbound webhook's deliveries and how their attempts went, newest first",
      params: idParams,
      querystring: deliveriesQuery,
      response: { 200: page(outboundDeliveryListItem) },
    },
  }, async (request) => {
    const { orgId } = request.principal;
    const webhook = await getOutboundWebhook(db, orgId, request.params.id, { withDeleted: true });
    const { status, event, task_id, ...page } = request.query;
    return listOutboundDeliveries(db, orgId, webhook.id, { status, event, task_id }, page);
  });

  app.get("/api/v1/outbound-webhooks/:id/deliveries/:delivery_id", {
    schema: { tags: TAGS, summary: "Show one outbound delivery with the payload it sends", params: deliveryParams, response: { 200: outboundDelivery } },
  }, async (request) => {
    const { orgId } = request.principal;
    const webhook = await getOutboundWebhook(db, orgId, request.params.id, { withDeleted: true });
    return getOutboundDelivery(db, orgId, webhook.id, request.params.delivery_id);
  });

  app.post("/api/v1/outbound-webhooks/:id/deliveries/:delivery_id/redeliver", {
    schema: {
      tags: TAGS,
      summary: "Send a delivery again: the same payload and X-Entourage-Delivery id, a new series of attempts",
      params: deliveryParams,
      response: { 202: outboundDeliveryListItem },
    },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const { orgId } = request.principal;
    const webhook = await getOutboundWebhook(db, orgId, request.params.id);
    const delivery = await redeliverOutbound(db, orgId, webhook.id, request.params.delivery_id);
    await relay.flushQuietly();
    return reply.status(202).send(delivery);
  });
}
