import { randomBytes } from "node:crypto";
import type { Webhook, WebhookConfig } from "../db/entities/webhook.js";
import { sql, type Queryable } from "../db/sql.js";
import { NotFoundError, ValidationError } from "./errors.js";
import { normalizeEvents } from "./event-types.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

export const WEBHOOK_PROVIDERS = ["github", "github_app", "custom"] as const;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("hex")}`;
}

/** A webhook as the API shows it: never its secret. */
export type WebhookView = Omit<Webhook, "secret" | "previous_secret" | "previous_secret_expires_at" | "deleted_at">;

export function webhookView(webhook: Webhook): WebhookView {
  const { secret: _s, previous_secret: _p, previous_secret_expires_at: _e, deleted_at: _d, ...view } = webhook;
  return view;
}

async function assertTeamInOrg(db: Queryable, orgId: string, teamId: string): Promise<void> {
  const result = await sql(db, "SELECT 1 FROM teams WHERE id = $1 AND org_id = $2", [teamId, orgId]);
  if (result.rows.length === 0) throw new ValidationError(`team_id ${teamId} is not a team of this organization`, "invalid_team");
}

export async function createWebhook(
  db: Queryable,
  input: { orgId: string; teamId?: string | null; name: string; provider: string; events: string[]; config?: WebhookConfig },
): Promise<{ webhook: Webhook; secret: string }> {
  if (input.teamId) await assertTeamInOrg(db, input.orgId, input.teamId);
  const secret = newWebhookSecret();
  const result = await sql<Webhook>(
    db,
    `INSERT INTO webhooks (org_id, team_id, name, provider, events, config, secret)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [input.orgId, input.teamId ?? null, input.name, input.provider, normalizeEvents(input.events),
      JSON.stringify(input.config ?? {}), secret],
  );
  return { webhook: result.rows[0]!, secret };
}

/** The webhook of the organization, deleted ones included only when asked. */
export async function getWebhook(db: Queryable, orgId: string, id: string, options: { withDeleted?: boolean } = {}): Promise<Webhook> {
  const result = await sql<Webhook>(
    db,
    `SELECT * FROM webhooks WHERE id = $1 AND org_id = $2${options.withDeleted ? "" : " AND deleted_at IS NULL"}`,
    [id, orgId],
  );
  if (!result.rows[0]) throw new NotFoundError(`webhook ${id}`);
  return result.rows[0];
}

/** A webhook found by id alone, for its receive endpoint (authenticated by its signature, not a key). */
export async function findWebhookForReceive(db: Queryable, id: string): Promise<Webhook | undefined> {
  const result = await sql<Webhook>(db, "SELECT * FROM webhooks WHERE id = $1 AND deleted_at IS NULL", [id]);
  return result.rows[0];
}

/** The secrets a delivery may be signed with now: the current one, and the previous one during its grace period. */
export function acceptedSecrets(webhook: Webhook, now = new Date()): string[] {
  const secrets = webhook.secret ? [webhook.secret] : [];
  if (webhook.previous_secret && webhook.previous_secret_expires_at && webhook.previous_secret_expires_at > now) {
    secrets.push(webhook.previous_secret);
  }
  return secrets;
}

export async function listWebhooks(db: Queryable, orgId: string, page: PageRequest): Promise<Page<WebhookView>> {
  const query = pageQuery(
    { select: "SELECT * FROM webhooks", where: ["org_id = $1", "deleted_at IS NULL"], params: [orgId] },
    page,
    "uuid",
  );
  const result = await sql<Webhook>(db, query.text, query.params);
  const paged = toPage(result.rows, query.limit);
  return { data: paged.data.map(webhookView), next_cursor: paged.next_cursor };
}
