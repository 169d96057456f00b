import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Agent } from "../../db/entities/agent.js";
import type { ConsoleSession } from "../../db/entities/console-session.js";
import { TASK_PRIORITIES, TASK_STATUSES, type Task, type TaskStatus } from "../../db/entities/task.js";
import { listOrganizationAgents } from "../../domain/agent-activity.js";
import { MAX_PAGE_SIZE } from "../../domain/pagination.js";
import { getRun, listRuns, retryTask } from "../../domain/runs.js";
import { getTaskDetail } from "../../domain/task-detail.js";
import type { TaskEventView } from "../../domain/task-history.js";
import { moveTask } from "../../domain/task-moves.js";
import { canMove, FINISHED, TRANSITIONS } from "../../domain/task-states.js";
import { getTask, listTasks, updateTask } from "../../domain/tasks.js";
import { getTeam, listTeams } from "../../domain/teams.js";
import { consoleActor, sessionOf, type ConsoleDeps } from "../deps.js";
import { href, html, when, type Html } from "../html.js";
import { badge, csrfField, page, postButton } from "../layout.js";
import { liveState, outsideLink, pager, selectFilter, textFilter } from "../parts.js";
import { backTo, CONSOLE_PATH } from "../session.js";

const BOARD = `${CONSOLE_PATH}/tasks`;
const CARDS_PER_COLUMN = 25;
const LOG_SHOWN = 64 * 1024;

const uuidOrEmpty = z.union([z.uuid(), z.literal("")]).optional();
const boardQuery = z.object({
  team: uuidOrEmpty,
  assignee: uuidOrEmpty,
  priority: z.union([z.enum(TASK_PRIORITIES), z.literal("")]).optional(),
  repository: z.string().max(200).optional(),
  status: z.union([z.enum(TASK_STATUSES), z.literal("")]).optional(),
  cursor: z.string().optional(),
});
const taskParams = z.object({ id: z.coerce.number().int().positive().max(2_147_483_647) });
const back = z.string().max(2000).optional();

/** A console page to return to after a change; anything else goes to the task's page. */
function returnTo(requested: string | undefined, fallback: string): string {
  return requested && (requested === CONSOLE_PATH || requested.startsWith(`${CONSOLE_PATH}/`)) && !/[\\\r\n]/.test(requested) ? requested : fallback;
}

function taskPath(id: number): string {
  return `${BOARD}/${id}`;
}

function label(status: string): string {
  return status.replace("_", " ");
}

function moveForm(session: ConsoleSession, task: Task, backTo: string): Html {
  const next = TRANSITIONS[task.status];
  if (next.length === 0) return html``;
  return html`<form class="move" method="post" action="${taskPath(task.id)}/move">${csrfField(session)}
<input type="hidden" name="back" value="${backTo}">
<select name="status" aria-label="Move #${task.id} to">${next.map((s) => html`<option value="${s}">${label(s)}</option>`)}</select>
<button type="submit">Move</button></form>`;
}

function card(session: ConsoleSession, task: Task, agents: Map<string, Agent>, backTo: string): Html {
  const assignee = task.assignee_id ? agents.get(task.assignee_id)?.name ?? "an agent" : "";
  return html`<article class="task-card" id="task-${task.id}" draggable="true" data-task="${task.id}">
<a class="title" href="${taskPath(task.id)}">#${task.id} ${task.title}</a>
<div class="meta">${badge(task.priority)}${assignee ? html`<span title="Assignee">@${assignee}</span>` : ""}${task.source ? html`<span>${task.source.repository}</span>` : ""}
${task.needs_human ? html`<span class="error">needs a person</span>` : ""}</div>
${moveForm(session, task, backTo)}</article>`;
}

function eventText(event: TaskEventView, agents: Map<string, Agent>): string {
  const actor = event.actor_type === "agent" && event.actor_id ? agents.get(event.actor_id)?.name ?? "an agent" : event.actor_type.replace("_", " ");
  const { from, to } = event;
  const move = from || to ? ` ${from ?? "—"} → ${to ?? "—"}` : "";
  const data = event.data as { note?: unknown; message?: unknown; agent_name?: unknown; reason?: unknown };
  const detail = [data.agent_name, data.note, data.message, data.reason].filter((v) => typeof v === "string").join(" · ");
  return `${event.type}${move} by ${actor}${detail ? ` — ${detail}` : ""}`;
}

/** The board (a column per status), the task page, and its actions: move, retry, cancel, assign. */
export async function taskRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = deps;

  app.get(BOARD, { schema: { hide: true, querystring: boardQuery } }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const orgId = session.org_id;
    const q = request.query;
    const filters = { team_id: q.team || undefined, assignee_id: q.assignee || undefined, priority: q.priority || undefined, repository: q.repository?.trim() || undefined };
    const columns: readonly TaskStatus[] = q.status ? [q.status] : TASK_STATUSES;
    const [teams, agentList, ...pages] = await Promise.all([
      listTeams(db, orgId, { limit: MAX_PAGE_SIZE }),
      listOrganizationAgents(db, orgId),
      ...columns.map((status) => listTasks(db, orgId, { ...filters, status }, { limit: q.status ? 50 : CARDS_PER_COLUMN, cursor: q.status ? q.cursor : undefined })),
    ]);
    const agents = new Map(agentList.map((agent) => [agent.id, agent]));
    const kept = { team: q.team, assignee: q.assignee, priority: q.priority, repository: q.repository };
    const here = href(BOARD, { ...kept, status: q.status, cursor: q.cursor });
    const content = html`
<form class="filters" method="get" action="${BOARD}">
  ${selectFilter("team", "Team", q.team, teams.data.map((t) => [t.id, t.name] as const))}
  ${selectFilter("assignee", "Assignee", q.assignee, agentList.map((a) => [a.id, `${a.name} (${a.team_name})`] as const))}
  ${selectFilter("priority", "Priority", q.priority, TASK_PRIORITIES.map((p) => [p, p] as const))}
  ${textFilter("repository", "Repository", q.repository, "owner/name")}
  ${q.status ? html`<input type="hidden" name="status" value="${q.status}">` : ""}
  <button type="submit">Filter</button> ${q.status ? html`<a href="${href(BOARD, kept)}">Whole board</a>` : ""} ${liveState}
</form>
<div class="board" id="board" data-live="tasks">
${columns.map((status, i) => {
  const tasks = pages[i]!;
  return html`<section class="column" data-status="${status}" aria-label="${label(status)}">
<h2><span>${label(status)}</span>${!q.status && tasks.next_cursor ? html`<a href="${href(BOARD, { ...kept, status })}">all →</a>` : ""}</h2>
${tasks.data.map((task) => card(session, task, agents, here))}
${q.status ? pager(BOARD, { ...kept, status, cursor: q.cursor }, tasks.next_cursor) : ""}
</section>`;
})}
</div>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Tasks", section: "tasks", session, since }, content)));
  });

  app.get(`${BOARD}/:id`, {
    schema: { hide: true, params: taskParams, querystring: z.object({ run: z.uuid().optional() }) },
  }, async (request, reply) => {
    const since = Date.now();
    const session = sessionOf(request);
    const orgId = session.org_id;
    const task = await getTask(db, orgId, request.params.id);
    const [detail, team, runs, agentList] = await Promise.all([
      getTaskDetail(db, { orgId, teamId: task.team_id }, task.id),
      getTeam(db, orgId, task.team_id),
      listRuns(db, orgId, task.id),
      listOrganizationAgents(db, orgId),
    ]);
    const agents = new Map(agentList.map((agent) => [agent.id, agent]));
    const teamAgents = agentList.filter((agent) => agent.team_id === task.team_id);
    const shownRunId = request.query.run ?? runs[0]?.id;
    const shownRun = shownRunId ? await getRun(db, orgId, task.id, shownRunId) : undefined;
    const self = taskPath(task.id);
    const ref = (t: { id: number; title: string; status: string }) => html`<li><a href="${taskPath(t.id)}">#${t.id} ${t.title}</a> ${badge(t.status)}</li>`;
    const content = html`
<div id="task-live" data-live="tasks">
<div class="actions">${badge(task.status)} ${badge(task.priority)}
${moveForm(session, task, self)}
${canMove(task.status, "cancelled") ? postButton(session, `${self}/cancel`, "Cancel task", {}, "danger") : ""}
${FINISHED.includes(task.status) ? "" : postButton(session, `${self}/retry`, "Retry")}
<form class="assign" method="post" action="${self}/assign">${csrfField(session)}
<select name="assignee_id" aria-label="Assign to"><option value="">nobody</option>${teamAgents.map((agent) =>
  html`<option value="${agent.id}"${agent.id === task.assignee_id ? html` selected` : ""}>${agent.name} (${agent.status})</option>`)}</select>
<button type="submit">Assign</button></form> ${liveState}
</div>
<div class="two">
<section class="card"><h2>Task</h2><dl class="facts">
<dt>Assignee</dt><dd>${task.assignee_id ? agents.get(task.assignee_id)?.name ?? task.assignee_id : "nobody"}</dd>
<dt>Team</dt><dd>${team.name}</dd>
<dt>Tags</dt><dd>${task.tags.join(", ")}</dd>
<dt>Created</dt><dd>${when(task.created_at)}</dd>
<dt>Updated</dt><dd>${when(task.updated_at)}</dd>
${task.completed_at ? html`<dt>Completed</dt><dd>${when(task.completed_at)}</dd>` : ""}
<dt>Failed runs</dt><dd>${task.failed_runs}${task.needs_human ? html` — <strong class="error">needs a person</strong>` : ""}${task.waiting_for_human ? " — waiting for an answer on GitHub" : ""}</dd>
<dt>GitHub</dt><dd>${detail.github ? outsideLink(detail.github.url, `${detail.github.repository}#${detail.github.number} (${detail.github.kind.replace("_", " ")})`) : html`<span class="muted">not from GitHub</span>`}</dd>
<dt>Pull request</dt><dd>${task.pull_request ? outsideLink(task.pull_request.url, `#${task.pull_request.number} (${task.pull_request.branch})`) : html`<span class="muted">none yet</span>`}</dd>
</dl></section>
<section class="card"><h2>Family and dependencies</h2>
${detail.parent ? html`<p>Sub-task of</p><ul>${ref(detail.parent)}</ul>` : ""}
<p>Sub-tasks</p>${detail.subtasks.length ? html`<ul>${detail.subtasks.map(ref)}</ul>` : html`<p class="empty">None.</p>`}
<p>Depends on</p>${detail.dependencies.length ? html`<ul>${detail.dependencies.map(ref)}</ul>` : html`<p class="empty">Nothing.</p>`}
</section>
</div>
<section class="card"><h2>Timeline</h2><ol class="timeline">${detail.events.map((event) =>
  html`<li><time datetime="${event.created_at}">${when(event.created_at)}</time>${eventText(event, agents)}</li>`)}</ol></section>
<section class="card"><h2>Runs</h2>${runs.length === 0 ? html`<p class="empty">No agent has run it yet.</p>` : html`
<table><thead><tr><th>Run</th><th>Agent</th><th>Outcome</th><th>Started</th><th>Finished</th><th>Reason</th></tr></thead><tbody>
${runs.map((run) => html`<tr><td><a href="${href(self, { run: run.id })}">#${run.number}</a></td><td>${agents.get(run.agent_id)?.name ?? ""}</td>
<td>${badge(run.outcome)}</td><td>${when(run.started_at)}</td><td>${when(run.finished_at)}</td><td class="wrap">${run.reason ?? ""}</td></tr>`)}
</tbody></table>
${shownRun ? html`<h3>Log of run #${shownRun.number}${shownRun.log.length > LOG_SHOWN ? " (its end)" : ""}</h3><pre class="log">${shownRun.log.slice(-LOG_SHOWN) || "(no output)"}</pre>` : ""}`}
</section>
</div>
<section class="card"><h2>Description</h2><pre>${task.description || "(none)"}</pre></section>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: `#${task.id} ${task.title}`, section: "tasks", session, since }, content)));
  });

  app.post(`${BOARD}/:id/move`, {
    schema: { hide: true, params: taskParams, body: z.object({ status: z.enum(TASK_STATUSES), back }) },
  }, async (request, reply) => {
    const session = sessionOf(request);
    await moveTask(db, session.org_id, request.params.id, request.body.status, consoleActor(session));
    await deps.relay.flushQuietly();
    return backTo(reply, returnTo(request.body.back, taskPath(request.params.id)));
  });

  app.post(`${BOARD}/:id/cancel`, { schema: { hide: true, params: taskParams, body: z.object({ back }) } }, async (request, reply) => {
    const session = sessionOf(request);
    await moveTask(db, session.org_id, request.params.id, "cancelled", consoleActor(session));
    await deps.relay.flushQuietly();
    return backTo(reply, returnTo(request.body.back, taskPath(request.params.id)));
  });

  app.post(`${BOARD}/:id/retry`, { schema: { hide: true, params: taskParams, body: z.object({ back }) } }, async (request, reply) => {
    const session = sessionOf(request);
    await retryTask(db, session.org_id, request.params.id, consoleActor(session));
    await deps.relay.flushQuietly();
    return backTo(reply, returnTo(request.body.back, taskPath(request.params.id)));
  });

  app.post(`${BOARD}/:id/assign`, {
    schema: { hide: true, params: taskParams, body: z.object({ assignee_id: z.union([z.uuid(), z.literal("")]), back }) },
  }, async (request, reply) => {
    const session = sessionOf(request);
    await updateTask(db, session.org_id, request.params.id, { assignee_id: request.body.assignee_id || null }, consoleActor(session));
    await deps.relay.flushQuietly();
    return backTo(reply, returnTo(request.body.back, taskPath(request.params.id)));
  });
}
