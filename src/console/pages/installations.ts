import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { listInstallations } from "../../domain/installations.js";
import { MAX_PAGE_SIZE } from "../../domain/pagination.js";
import { listTeams } from "../../domain/teams.js";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { html, when } from "../html.js";
import { badge, page } from "../layout.js";
import { pager } from "../parts.js";
import { CONSOLE_PATH } from "../session.js";

const INSTALLATIONS = `${CONSOLE_PATH}/installations`;

/** Each installation of the GitHub App: its account, repositories and the team its issues go to. */
export async function installationRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get(INSTALLATIONS, { schema: { hide: true, querystring: z.object({ cursor: z.string().optional() }) } }, async (request, reply) => {
    const session = sessionOf(request);
    const [installations, teams] = await Promise.all([
      listInstallations(deps.db, session.org_id, { cursor: request.query.cursor, limit: 50 }),
      listTeams(deps.db, session.org_id, { limit: MAX_PAGE_SIZE }),
    ]);
    const teamNames = new Map(teams.data.map((team) => [team.id, team.name]));
    const content = installations.data.length === 0
      ? html`<p class="empty">The GitHub App is not installed on an account of this organization yet.</p>`
      : html`<table><thead><tr><th>Account</th><th>Repositories</th><th>Team</th><th>Events</th><th>State</th><th>Installed</th></tr></thead><tbody>
${installations.data.map((i) => html`<tr><td><strong>${i.account_login ?? i.github_installation_id}</strong><br><span class="muted">${i.account_type ?? ""} · installation ${i.github_installation_id}</span></td>
<td class="wrap">${i.repository_selection === "all" ? html`<em>all repositories</em> ` : ""}${(i.repositories ?? []).map((name) => html`<div>${name}</div>`)}</td>
<td>${i.team_id ? teamNames.get(i.team_id) ?? i.team_id : html`<span class="muted">none</span>`}</td>
<td class="wrap">${(i.events ?? []).join(", ")}</td>
<td>${i.deleted_at ? badge("uninstalled") : i.suspended_at ? badge("suspended") : i.active === false ? badge("paused") : badge("active")}</td>
<td>${when(i.created_at)}</td></tr>`)}</tbody></table>${pager(INSTALLATIONS, { cursor: request.query.cursor }, installations.next_cursor)}`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Installations", section: "installations", session }, content)));
  });
}
