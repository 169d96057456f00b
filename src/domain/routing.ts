import { APP_RECEIVER, type Delivery } from "../db/entities/delivery.js";
import type { Installation } from "../db/entities/installation.js";
import type { Webhook } from "../db/entities/webhook.js";
import { sql, type Queryable } from "../db/sql.js";

/** Where a delivery goes: the webhook row whose org, team, events and config decide what happens. */
export interface Route {
  webhook: Webhook;
  installation: Installation | null;
}

export type Routing = { route: Route } | { ignored: string };

export const DEFAULT_APP_EVENTS = ["issues", "pull_request", "issue_comment", "pull_request_review"];

interface AppPayload {
  installation?: { id?: number; account?: { login?: string; type?: string } };
  repository?: { full_name?: string; owner?: { login?: string } };
  organization?: { login?: string };
}

function accountLogin(payload: AppPayload): string | null {
  return payload.installation?.account?.login ?? payload.repository?.owner?.login ?? payload.organization?.login ?? null;
}

/** The installation row for a GitHub installation id, created on first sight (one query once it exists). */
export async function ensureInstallation(db: Queryable, payload: AppPayload): Promise<Installation> {
  const githubId = payload.installation!.id!;
  const known = await sql<Installation>(db, "SELECT * FROM installations WHERE github_installation_id = $1", [githubId]);
  if (known.rows[0]) return known.rows[0];
  await sql(
    db,
    `INSERT INTO installations (github_installation_id, account_login, account_type)
     VALUES ($1, $2, $3) ON CONFLICT (github_installation_id) DO NOTHING`,
    [githubId, accountLogin(payload), payload.installation?.account?.type ?? null],
  );
  const result = await sql<Installation>(db, "SELECT * FROM installations WHERE github_installation_id = $1", [githubId]);
  return result.rows[0]!;
}

/** Links the installation to the organization whose github_login is its account, if there is one. */
export async function linkOrganization(db: Queryable, installation: Installation): Promise<string | null> {
  if (installation.org_id) return installation.org_id;
  if (!installation.account_login) return null;
  const result = await sql<{ org_id: string }>(
    db,
    `UPDATE installations i SET org_id = o.id, updated_at = now()
       FROM organizations o
      WHERE i.id = $1 AND lower(o.github_login) = lower($2)
      RETURNING o.id AS org_id`,
    [installation.id, installation.account_login],
  );
  return result.rows[0]?.org_id ?? null;
}

/** Each installation has one webhook row (provider github_app) holding its team, events and config; made on first sight. */
export async function ensureInstallationWebhook(db: Queryable, installation: Installation, orgId: string): Promise<Webhook> {
  const known = await sql<Webhook>(db, "SELECT * FROM webhooks WHERE installation_id = $1", [installation.id]);
  if (known.rows[0]) return known.rows[0];
  await sql(
    db,
    `INSERT INTO webhooks (org_id, team_id, installation_id, name, provider, events, config)
     SELECT $1, (SELECT CASE WHEN count(*) = 1 THEN min(id::text)::uuid END FROM teams WHERE org_id = $1),
            $2, $3, 'github_app', $4, '{}'::jsonb
     ON CONFLICT (installation_id) DO NOTHING`,
    [orgId, installation.id, `GitHub App: ${installation.account_login ?? installation.github_installation_id}`, DEFAULT_APP_EVENTS],
  );
  const result = await sql<Webhook>(db, "SELECT * FROM webhooks WHERE installation_id = $1", [installation.id]);
  return result.rows[0]!;
}

/** JSON of a row back to the row: its `*_at` timestamps as dates again. */
function rowFromJson<T>(json: Record<string, unknown>): T {
  const row: Record<string, unknown> = { ...json };
  for (const [key, value] of Object.entries(row)) if (key.endsWith("_at") && typeof value === "string") row[key] = new Date(value);
  return row as T;
}

/** The rows a delivery may route to, as they are now: read in the query that locks the delivery (see ROUTE_ROWS). */
export interface RouteRows {
  installation: Installation | null;
  installationWebhook: Webhook | null;
  ownWebhook: Webhook | null;
}

/** Select-list items and joins over webhook_deliveries `d` that read its RouteRows in the same query. */
export const ROUTE_ROWS = {
  select: "to_jsonb(route_i) AS route_installation, to_jsonb(route_iw) AS route_installation_webhook, to_jsonb(route_w) AS route_own_webhook",
  joins: `LEFT JOIN installations route_i ON route_i.github_installation_id = d.github_installation_id
          LEFT JOIN webhooks route_iw ON route_iw.installation_id = route_i.id
          LEFT JOIN webhooks route_w ON route_w.id = d.webhook_id`,
};

/** The columns ROUTE_ROWS adds to a row. */
export interface RouteRowsJson {
  route_installation: Record<string, unknown> | null;
  route_installation_webhook: Record<string, unknown> | null;
  route_own_webhook: Record<string, unknown> | null;
}

/** Splits a row read with ROUTE_ROWS into the row itself and its RouteRows. */
export function splitRouteRows<D>(row: D & RouteRowsJson): { row: D; rows: RouteRows } {
  const { route_installation: installation, route_installation_webhook: installationWebhook, route_own_webhook: ownWebhook, ...rest } = row;
  const parse = <R>(json: Record<string, unknown> | null) => (json ? rowFromJson<R>(json) : null);
  return { row: rest as D, rows: { installation: parse(installation), installationWebhook: parse(installationWebhook), ownWebhook: parse(ownWebhook) } };
}

/** Finds the webhook a delivery belongs to, or why it is ignored, from the rows read with it (ROUTE_ROWS). */
export async function routeDelivery(db: Queryable, delivery: Delivery, rows: RouteRows): Promise<Routing> {
  // An App delivery keeps the webhook id found on its first run; a redelivery still routes by installation.
  if (delivery.receiver !== APP_RECEIVER && delivery.webhook_id) {
    const webhook = rows.ownWebhook;
    if (!webhook || webhook.deleted_at) return { ignored: "the webhook was deleted" };
    if (!webhook.active) return { ignored: "the webhook is inactive" };
    return { route: { webhook, installation: null } };
  }
  const payload = delivery.payload as AppPayload;
  if (typeof payload.installation?.id !== "number") return { ignored: "no installation in the payload" };
  // The rows were joined on the delivery's installation id, which ingest took from this payload; first sight finds none.
  const known = rows.installation?.github_installation_id === payload.installation.id ? rows : undefined;
  const installation = known?.installation ?? await ensureInstallation(db, payload);
  if (installation.deleted_at) return { ignored: `installation ${installation.github_installation_id} was deleted` };
  if (installation.suspended_at) return { ignored: `installation ${installation.github_installation_id} is suspended` };
  const orgId = await linkOrganization(db, installation);
  if (!orgId) {
    return { ignored: `no organization has github_login ${JSON.stringify(installation.account_login ?? "")}` };
  }
  const repository = payload.repository?.full_name;
  if (repository && installation.repositories && !installation.repositories.includes(repository)) {
    return { ignored: `repository ${repository} is not covered by installation ${installation.github_installation_id}` };
  }
  const webhook = known?.installationWebhook ?? await ensureInstallationWebhook(db, { ...installation, org_id: orgId }, orgId);
  if (!webhook.active) return { ignored: "the installation's webhook is inactive" };
  return { route: { webhook, installation: { ...installation, org_id: orgId } } };
}
