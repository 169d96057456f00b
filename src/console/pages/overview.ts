import type { FastifyInstance } from "fastify";
import { databaseIsUp } from "../../db/data-source.js";
import { agentActivity, listOrganizationAgents } from "../../domain/agent-activity.js";
import { deliveryCountsSince, taskCounts } from "../../domain/overview.js";
import type { JobCounts } from "../../queue/queue.js";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { href, html, type Html } from "../html.js";
import { badge, page } from "../layout.js";
import { CONSOLE_PATH } from "../session.js";

const DAY_MS = 24 * 3600 * 1000;

function health(name: string, up: boolean | null, note: string): Html {
  const state = up === null ? "not used" : up ? "up" : "down";
  return html`<li class="health health-${state.replace(" ", "-")}"><strong>${name}</strong> ${state}<span class="note">${note}</span></li>`;
}

function counts(title: string, values: Record<string, number>, link: (key: string) => string): Html {
  return html`<section class="card"><h2>${title}</h2><dl class="counts">${Object.entries(values).map(([key, n]) =>
    html`<div><dt><a href="${link(key)}">${key.replace("_", " ")}</a></dt><dd>${n}</dd></div>`)}</dl></section>`;
}

async function jobCounts(deps: ConsoleDeps): Promise<Record<string, JobCounts> | undefined> {
  try {
    return await deps.queue.counts();
  } catch {
    return undefined;
  }
}

/** The morning page: health, the last day's deliveries, tasks by status, agents at work, failed jobs. */
export async function overviewRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  app.get(CONSOLE_PATH, { schema: { hide: true } }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const orgId = session.org_id;
    const [postgres, redis, deliveries, tasks, agents, jobs] = await Promise.all([
      databaseIsUp(deps.db),
      deps.queue.kind === "bullmq" ? deps.queue.ping() : Promise.resolve(null),
      deliveryCountsSince(deps.db, orgId, new Date(since - DAY_MS)),
      taskCounts(deps.db, orgId),
      listOrganizationAgents(deps.db, orgId),
      jobCounts(deps),
    ]);
    const working = agents.filter((agent) => agent.status === "working");
    const activity = await agentActivity(deps.db, orgId, working.map((agent) => agent.id));
    const failed = Object.entries(jobs ?? {}).filter(([, c]) => c.failed > 0);
    const content = html`
<section class="card"><h2>Health</h2><ul class="healths">
  ${health("PostgreSQL", postgres, "driver" in deps.db.options && deps.db.options.driver ? "the embedded database (PGlite)" : "DATABASE_URL")}
  ${health("Redis", redis, redis === null ? "the in-process queue runs the jobs" : "BullMQ")}
  ${health("GitHub App", deps.appConfigured, deps.appConfigured ? "credentials set" : "not configured: /setup registers it")}
</ul></section>
<div class="grid" id="overview-counts" data-live="deliveries tasks">
${counts("Deliveries of the last 24 hours", deliveries, (status) => href(`${CONSOLE_PATH}/deliveries`, { status }))}
${counts("Tasks by status", tasks, (status) => href(`${CONSOLE_PATH}/tasks`, { status }))}
<section class="card"><h2>Agents at work</h2>${working.length === 0 ? html`<p class="empty">No agent is working right now.</p>` : html`<ul>${working.map((agent) => {
  const task = activity.get(agent.id)?.tasks[0];
  return html`<li><a href="${CONSOLE_PATH}/agents#agent-${agent.id}">${agent.name}</a> (${agent.team_name})${task ? html` on <a href="${CONSOLE_PATH}/tasks/${task.id}">#${task.id} ${task.title}</a> ${badge(task.status)}` : ""}</li>`;
})}</ul>`}</section>
<section class="card"><h2>Failed jobs</h2>${jobs === undefined ? html`<p class="error">The queue did not answer.</p>`
  : failed.length === 0 ? html`<p class="empty">No failed job.</p>`
  : html`<ul>${failed.map(([name, c]) => html`<li><strong>${name}</strong>: ${c.failed} failed</li>`)}</ul>`}
  <p><a href="${CONSOLE_PATH}/queues">Queues</a></p></section>
</div>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Overview", section: "overview", session, since }, content)));
  });
}
