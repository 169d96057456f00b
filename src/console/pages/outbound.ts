import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { OUTBOUND_DELIVERY_STATUSES } from "../../db/entities/outbound-delivery.js";
import { listOutboundDeliveries, redeliverOutbound } from "../../domain/outbound-deliveries.js";
import { getOutboundWebhook, listOutboundWebhooks } from "../../domain/outbound-webhooks.js";
import { MAX_PAGE_SIZE } from "../../domain/pagination.js";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { href, html, when } from "../html.js";
import { badge, page, postButton } from "../layout.js";
import { liveState, pager, selectFilter } from "../parts.js";
import { backTo, CONSOLE_PATH } from "../session.js";

const OUTBOUND = `${CONSOLE_PATH}/outbound`;
const webhookParams = z.object({ id: z.uuid() });
const listQuery = z.object({ status: z.union([z.enum(OUTBOUND_DELIVERY_STATUSES), z.literal("")]).optional(), cursor: z.string().optional() });

/** Outbound webhooks, each one's attempts and failures, and Redeliver (redeliverOutbound, as the API). */
export async function outboundRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = deps;

  app.get(OUTBOUND, { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const webhooks = await listOutboundWebhooks(db, session.org_id, { limit: MAX_PAGE_SIZE });
    const content = webhooks.data.length === 0
      ? html`<p class="empty">No outbound webhook: register one with POST /api/v1/outbound-webhooks.</p>`
      : html`<table><thead><tr><th>URL</th><th>Events</th><th>State</th><th>Last success</th><th>Failing since</th><th></th></tr></thead><tbody>
${webhooks.data.map((webhook) => html`<tr><td class="wrap"><code>${webhook.url}</code></td><td class="wrap">${webhook.events.join(", ")}</td>
<td>${webhook.active ? badge("active") : html`${badge("disabled")}<br><span class="muted">${webhook.disabled_reason ?? ""}</span>`}</td>
<td>${when(webhook.last_success_at)}</td><td>${when(webhook.failing_since)}</td>
<td><a href="${OUTBOUND}/${webhook.id}">Attempts</a> · <a href="${href(`${OUTBOUND}/${webhook.id}`, { status: "failed" })}">failures</a></td></tr>`)}
</tbody></table>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Outbound webhooks", section: "outbound", session }, content)));
  });

  app.get(`${OUTBOUND}/:id`, { schema: { hide: true, params: webhookParams, querystring: listQuery } }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const webhook = await getOutboundWebhook(db, session.org_id, request.params.id, { withDeleted: true });
    const status = request.query.status || undefined;
    const deliveries = await listOutboundDeliveries(db, session.org_id, webhook.id, { status }, { cursor: request.query.cursor, limit: 50 });
    const self = `${OUTBOUND}/${webhook.id}`;
    const content = html`
<p><code>${webhook.url}</code> ${webhook.active ? badge("active") : badge("disabled")}</p>
<form class="filters" method="get" action="${self}">${selectFilter("status", "Status", status, OUTBOUND_DELIVERY_STATUSES.map((s) => [s, s] as const))}
<button type="submit">Filter</button> ${liveState}</form>
<div id="outbound-list" data-live="${request.query.cursor ? "" : "tasks"}">
${deliveries.data.length === 0 ? html`<p class="empty">No delivery matches.</p>` : html`
<table><thead><tr><th>Created (UTC)</th><th>Event</th><th>Task</th><th>Status</th><th>Attempts</th><th>Last answer</th><th>Delivered</th><th></th></tr></thead><tbody>
${deliveries.data.map((d) => html`<tr id="outbound-${d.id}"><td>${when(d.created_at)}</td><td>${d.event}</td>
<td>${d.task_id === null ? "" : html`<a href="${CONSOLE_PATH}/tasks/${d.task_id}">#${d.task_id}</a>`}</td>
<td>${badge(d.status)}</td><td>${d.attempts}${d.redeliveries ? html` <span class="muted">(redelivered ${d.redeliveries}×)</span>` : ""}</td>
<td class="wrap">${d.last_response_code ?? ""} ${d.last_error ?? ""}</td><td>${when(d.delivered_at)}</td>
<td>${d.status === "pending" ? "" : postButton(session, `${self}/deliveries/${d.id}/redeliver`, "Redeliver")}</td></tr>`)}
</tbody></table>`}
${pager(self, { status, cursor: request.query.cursor }, deliveries.next_cursor)}
</div>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Outbound deliveries", section: "outbound", session, since }, content)));
  });

  app.post(`${OUTBOUND}/:id/deliveries/:delivery_id/redeliver`, {
    schema: { hide: true, params: webhookParams.extend({ delivery_id: z.uuid() }) },
  }, async (request, reply) => {
    const session = sessionOf(request);
    await redeliverOutbound(db, session.org_id, request.params.id, request.params.delivery_id);
    await deps.relay.flushQuietly();
    return backTo(reply, `${OUTBOUND}/${request.params.id}`);
  });
}
