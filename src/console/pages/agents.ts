import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { agentActivity, listOrganizationAgents } from "../../domain/agent-activity.js";
import { updateAgent } from "../../domain/agents.js";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { html, when } from "../html.js";
import { badge, page, postButton } from "../layout.js";
import { liveState } from "../parts.js";
import { backTo, CONSOLE_PATH } from "../session.js";

const AGENTS = `${CONSOLE_PATH}/agents`;
const agentParams = z.object({ id: z.uuid() });

/** Each agent's status, current task, last runs and keys; pause and resume (the API's PATCH of its status). */
export async function agentRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = deps;

  app.get(AGENTS, { schema: { hide: true } }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const agents = await listOrganizationAgents(db, session.org_id);
    const activity = await agentActivity(db, session.org_id, agents.map((agent) => agent.id));
    const content = html`<p>${liveState}</p>
<div id="agent-list" data-live="tasks">
${agents.length === 0 ? html`<p class="empty">No agent yet: add one with POST /api/v1/teams/:team_id/agents.</p>` : html`
<table><thead><tr><th>Agent</th><th>Team</th><th>Status</th><th>Current task</th><th>Last runs</th><th>Keys</th><th></th></tr></thead><tbody>
${agents.map((agent) => {
  const { tasks, runs, keys } = activity.get(agent.id)!;
  return html`<tr id="agent-${agent.id}">
<td><strong>${agent.name}</strong><br><span class="muted">${agent.role}</span></td>
<td>${agent.team_name}</td>
<td>${badge(agent.status)}</td>
<td class="wrap">${tasks.length === 0 ? html`<span class="muted">none</span>` : tasks.map((task) =>
  html`<div><a href="${CONSOLE_PATH}/tasks/${task.id}">#${task.id} ${task.title}</a> ${badge(task.status)}</div>`)}</td>
<td>${runs.length === 0 ? html`<span class="muted">none</span>` : runs.map((run) =>
  html`<div><a href="${CONSOLE_PATH}/tasks/${run.task_id}?run=${run.id}">#${run.task_id} run ${run.number}</a> ${badge(run.outcome)} <span class="muted">${when(run.started_at)}</span></div>`)}</td>
<td>${keys.length === 0 ? html`<span class="muted">none</span>` : keys.map((key) =>
  html`<div><code>${key.key_prefix}…</code> ${key.revoked_at ? html`<span class="badge">revoked</span>` : html`<span class="muted">used ${key.last_used_at ? when(key.last_used_at) : "never"}</span>`}</div>`)}</td>
<td>${agent.status === "paused"
  ? postButton(session, `${AGENTS}/${agent.id}/resume`, "Resume", {}, "primary")
  : postButton(session, `${AGENTS}/${agent.id}/pause`, "Pause")}</td>
</tr>`;
})}</tbody></table>`}
</div>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Agents", section: "agents", session, since }, content)));
  });

  for (const [action, status] of [["pause", "paused"], ["resume", "idle"]] as const) {
    app.post(`${AGENTS}/:id/${action}`, { schema: { hide: true, params: agentParams } }, async (request, reply) => {
      const session = sessionOf(request);
      await updateAgent(db, session.org_id, request.params.id, { status });
      // A resumed agent is idle and may be given a waiting task.
      await deps.relay.flushQuietly();
      return backTo(reply, `${AGENTS}#agent-${request.params.id}`);
    });
  }
}
