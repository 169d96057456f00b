import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { DELIVERY_STATUSES, type Delivery } from "../../db/entities/delivery.js";
import { getDelivery, listOrganizationDeliveries, reopenDelivery, type DeliveryListItem } from "../../domain/deliveries.js";
import { MAX_PAGE_SIZE } from "../../domain/pagination.js";
import { getWebhook, listWebhooks } from "../../domain/webhooks.js";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { href, html, when, type Html } from "../html.js";
import { badge, page, postButton } from "../layout.js";
import { liveState, outsideLink, pager, selectFilter, textFilter } from "../parts.js";
import { backTo, CONSOLE_PATH } from "../session.js";

const LIST = `${CONSOLE_PATH}/deliveries`;

const filters = z.object({
  webhook: z.union([z.uuid(), z.literal("")]).optional(),
  status: z.union([z.enum(DELIVERY_STATUSES), z.literal("")]).optional(),
  event: z.string().max(100).optional(),
  repository: z.string().max(200).optional(),
  cursor: z.string().optional(),
});
const deliveryParams = z.object({ webhook_id: z.uuid(), id: z.uuid() });

function detailPath(delivery: Pick<Delivery, "id" | "webhook_id">): string {
  return `${CONSOLE_PATH}/webhooks/${delivery.webhook_id}/deliveries/${delivery.id}`;
}

interface Summary {
  repository?: string;
  issue?: { number?: number; title?: string };
  pull_request?: { number?: number; title?: string };
  sender?: string;
}

function subject(summary: Summary): string {
  const item = summary.issue ?? summary.pull_request;
  if (!item) return "";
  return `#${item.number ?? "?"} ${item.title ?? ""}`;
}

function taskLink(taskId: number | null): Html {
  return taskId === null ? html`<span class="muted">—</span>` : html`<a href="${CONSOLE_PATH}/tasks/${taskId}">#${taskId}</a>`;
}

function row(delivery: DeliveryListItem): Html {
  const summary = delivery.payload_summary as Summary;
  const name = delivery.webhook_id ? html`<a href="${detailPath(delivery)}">${delivery.event_type}</a>` : html`${delivery.event_type}`;
  return html`<tr id="delivery-${delivery.id}">
<td><time datetime="${delivery.created_at}">${when(delivery.created_at)}</time></td>
<td>${name}</td><td>${summary.repository ?? ""}</td><td class="wrap">${subject(summary)}</td>
<td>${badge(delivery.status)}</td><td>${taskLink(delivery.task_id)}</td><td class="wrap">${delivery.action_taken ?? delivery.error ?? ""}</td></tr>`;
}

/** The delivery log with its filters, the delivery page, and Redeliver. */
export async function deliveryRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = deps;

  app.get(LIST, { schema: { hide: true, querystring: filters } }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const query = request.query;
    const [deliveries, webhooks] = await Promise.all([
      listOrganizationDeliveries(db, session.org_id, {
        webhook_id: query.webhook || undefined, status: query.status || undefined,
        event_type: query.event?.trim() || undefined, repository: query.repository?.trim() || undefined,
      }, { cursor: query.cursor, limit: 50 }),
      listWebhooks(db, session.org_id, { limit: MAX_PAGE_SIZE }),
    ]);
    const kept = { webhook: query.webhook, status: query.status, event: query.event, repository: query.repository };
    const content = html`
<form class="filters" method="get" action="${LIST}">
  ${selectFilter("webhook", "Webhook", query.webhook, webhooks.data.map((w) => [w.id, w.name] as const))}
  ${selectFilter("status", "Status", query.status, DELIVERY_STATUSES.map((s) => [s, s] as const))}
  ${textFilter("event", "Event", query.event, "issues or issues.opened")}
  ${textFilter("repository", "Repository", query.repository, "owner/name")}
  <button type="submit">Filter</button> ${liveState}
</form>
<div id="delivery-list" data-live="${query.cursor ? "" : "deliveries"}">
${deliveries.data.length === 0 ? html`<p class="empty">No delivery matches.</p>` : html`
<table><thead><tr><th>Received (UTC)</th><th>Event</th><th>Repository</th><th>Issue or PR</th><th>Status</th><th>Task</th><th>Action taken</th></tr></thead>
<tbody>${deliveries.data.map(row)}</tbody></table>`}
${pager(LIST, { ...kept, cursor: query.cursor }, deliveries.next_cursor)}
</div>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Deliveries", section: "deliveries", session, since }, content)));
  });

  app.get(`${CONSOLE_PATH}/webhooks/:webhook_id/deliveries/:id`, { schema: { hide: true, params: deliveryParams } }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const { webhook_id: webhookId, id } = request.params;
    const [delivery, webhook] = await Promise.all([
      getDelivery(db, session.org_id, webhookId, id),
      getWebhook(db, session.org_id, webhookId, { withDeleted: true }),
    ]);
    const headers = Object.keys(delivery.headers).length > 0 ? delivery.headers : {
      "x-github-event": delivery.event_type.split(".")[0]!, "x-github-delivery": delivery.github_delivery_id,
    };
    const summary = delivery.payload_summary as Summary & { issue?: { html_url?: string }; pull_request?: { html_url?: string } };
    const item = summary.issue ?? summary.pull_request;
    const content = html`
<div id="delivery-detail" data-live="deliveries">
<div class="actions">${badge(delivery.status)}
${delivery.status === "received" ? html`<span class="muted">being processed</span>`
  : postButton(session, `${detailPath(delivery)}/redeliver`, "Redeliver", {}, "primary")} ${liveState}</div>
<div class="two">
<section class="card"><h2>Delivery</h2><dl class="facts">
<dt>Event</dt><dd>${delivery.event_type}</dd>
<dt>Webhook</dt><dd><a href="${href(LIST, { webhook: webhook.id })}">${webhook.name}</a></dd>
<dt>Delivery id</dt><dd><code>${delivery.github_delivery_id}</code></dd>
<dt>Repository</dt><dd>${summary.repository ?? ""}</dd>
<dt>Issue or PR</dt><dd>${item ? outsideLink(item.html_url, subject(summary)) : ""}</dd>
<dt>Received</dt><dd>${when(delivery.created_at)}</dd>
<dt>Processed</dt><dd>${when(delivery.processed_at)}</dd>
<dt>Attempts</dt><dd>${delivery.attempts}${delivery.redeliveries ? html`, redelivered ${delivery.redeliveries}×` : ""}</dd>
<dt>Action taken</dt><dd>${delivery.action_taken ?? ""}</dd>
<dt>Task</dt><dd>${taskLink(delivery.task_id)}</dd>
${delivery.error ? html`<dt>Error</dt><dd class="error">${delivery.error}</dd>` : ""}
</dl></section>
<section class="card"><h2>Headers</h2><p class="muted">As received, without the signature.</p><dl class="facts">
${Object.entries(headers).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => html`<dt>${name}</dt><dd>${value}</dd>`)}
</dl></section>
</div>
</div>
<section class="card"><h2>Payload</h2><pre>${JSON.stringify(delivery.payload, null, 2)}</pre></section>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: `Delivery ${delivery.event_type}`, section: "deliveries", session, since }, content)));
  });

  app.post(`${CONSOLE_PATH}/webhooks/:webhook_id/deliveries/:id/redeliver`, { schema: { hide: true, params: deliveryParams } }, async (request, reply) => {
    const session = sessionOf(request);
    const { webhook_id: webhookId, id } = request.params;
    const webhook = await getWebhook(db, session.org_id, webhookId);
    await reopenDelivery(db, session.org_id, webhook.id, id);
    await deps.relay.flushQuietly();
    return backTo(reply, detailPath({ id, webhook_id: webhook.id }));
  });
}
