import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { createTenant, type Tenant, type TestRuntime } from "./app-runtime.js";
import { issueOpened } from "./github-events.js";
import { apiClient, deliverToApp } from "./http.js";

let installation = 5000;

export interface AutoAssigningOrg {
  tenant: Tenant;
  api: ReturnType<typeof apiClient>;
  /** Agent ids by name. */
  agents: Record<string, string>;
  installationId: number;
  /** The GitHub account whose repositories feed the organization. */
  owner: string;
}

/** An organization whose App installation auto-assigns (comments off), with agents made through the API. */
export async function autoAssigningOrg(rt: TestRuntime, agents: { name: string; role: string }[], config: Record<string, unknown> = {}): Promise<AutoAssigningOrg> {
  const owner = `gh-${randomUUID().slice(0, 8)}`;
  const tenant = await createTenant(rt, `org-${randomUUID().slice(0, 8)}`, owner);
  const api = apiClient(rt, tenant.apiKey);
  const ids: Record<string, string> = {};
  for (const agent of agents) ids[agent.name] = (await api.post(`/api/v1/teams/${tenant.teamId}/agents`, agent)).body.id;
  const installationId = ++installation;
  // A first (bot) delivery makes the installation's webhook row; then it is configured.
  const first = await deliverToApp(rt, "issues", issueOpened({ owner, number: 1, installationId, senderType: "Bot" }));
  if (first.status !== "ignored") throw new Error(`unexpected ${first.status}`);
  await sql(rt.database.dataSource, "UPDATE webhooks SET config = $2 WHERE org_id = $1",
    [tenant.orgId, JSON.stringify({ auto_assign: true, comment_on_create: false, ...config })]);
  return { tenant, api, agents: ids, installationId, owner };
}
