import type { DataSource, EntityManager } from "typeorm";
import type { Webhook, WebhookConfig } from "../db/entities/webhook.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { isUuid } from "../db/is-uuid.js";
import { sealClearSecrets } from "../db/seal-clear-secrets.js";
import { SetList } from "../db/set-list.js";
import { sql, type Queryable } from "../db/sql.js";
import { newWebhookSecret, rotateSecret } from "./secret-rotation.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { normalizeEvents } from "./event-types.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";
import { assertTeamOfOrg } from "./teams.js";

export const WEBHOOK_PROVIDERS = ["github", "github_app", "custom"] as const;

/** A webhook as the API shows it: never its secret. */
export type WebhookView = Omit<Webhook, "secret" | "previous_secret" | "previous_secret_expires_at" | "deleted_at">;

export function webhookView(webhook: Webhook): WebhookView {
  const { secret: _s, previous_secret: _p, previous_secret_expires_at: _e, deleted_at: _d, ...view } = webhook;
  return view;
}

export async function createWebhook(
  db: Queryable,
  box: SecretBox,
  input: { orgId: string; teamId?: string | null; name: string; provider: string; events: string[]; config?: WebhookConfig },
): Promise<{ webhook: Webhook; secret: string }> {
  if (input.teamId) await assertTeamOfOrg(db, input.orgId, input.teamId, "in_body");
  const secret = newWebhookSecret();
  const result = await sql<Webhook>(
    db,
    `INSERT INTO webhooks (org_id, team_id, name, provider, events, config, secret)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [input.orgId, input.teamId ?? null, input.name, input.provider, normalizeEvents(input.events),
      JSON.stringify(input.config ?? {}), box.seal(secret)],
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

/** A webhook found by id alone, for its receive endpoint (authenticated by its signature, not a key); none for an id that is no uuid. */
export async function findWebhookForReceive(db: Queryable, id: string): Promise<Webhook | undefined> {
  if (!isUuid(id)) return undefined;
  const result = await sql<Webhook>(db, "SELECT * FROM webhooks WHERE id = $1 AND deleted_at IS NULL", [id]);
  return result.rows[0];
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

/** Locks the organization's webhook row for the rest of the transaction. */
async function lockWebhook(manager: EntityManager, orgId: string, id: string, options: { withDeleted?: boolean } = {}): Promise<Webhook> {
  const result = await sql<Webhook>(
    manager,
    `SELECT * FROM webhooks WHERE id = $1 AND org_id = $2${options.withDeleted ? "" : " AND deleted_at IS NULL"} FOR UPDATE`,
    [id, orgId],
  );
  if (!result.rows[0]) throw new NotFoundError(`webhook ${id}`);
  return result.rows[0];
}

function installationWebhookConflict(id: string, what: string): ConflictError {
  return new ConflictError(`webhook ${id} belongs to a GitHub App installation: ${what}`, "github_app_webhook");
}

export interface WebhookChanges {
  name?: string;
  /** null detaches the webhook from its team. */
  teamId?: string | null;
  events?: string[];
  active?: boolean;
  /** Replaces the whole config. */
  config?: WebhookConfig;
  /** Sets some keys of the config, keeping the others. */
  configPatch?: WebhookConfig;
}

/** Applies the given changes; an installation's webhook keeps the name the installation gave it. */
export async function updateWebhook(db: DataSource, orgId: string, id: string, changes: WebhookChanges): Promise<Webhook> {
  const events = changes.events === undefined ? undefined : normalizeEvents(changes.events);
  return db.transaction(async (manager) => {
    const webhook = await lockWebhook(manager, orgId, id);
    if (webhook.provider === "github_app" && changes.name !== undefined) throw installationWebhookConflict(id, "its name cannot be changed");
    if (changes.teamId) await assertTeamOfOrg(manager, orgId, changes.teamId, "in_body");
    const params: unknown[] = [webhook.id];
    const set = new SetList(params);
    if (changes.name !== undefined) set.set("name", changes.name);
    if (changes.teamId !== undefined) set.set("team_id", changes.teamId);
    if (events !== undefined) set.set("events", events);
    if (changes.active !== undefined) set.set("active", changes.active);
    if (changes.config !== undefined) set.set("config", JSON.stringify(changes.config));
    if (changes.configPatch !== undefined) set.add(`config = config || ${set.param(JSON.stringify(changes.configPatch))}::jsonb`);
    const updated = await sql<Webhook>(manager, `UPDATE webhooks SET ${set.toSql()} WHERE id = $1 RETURNING *`, params);
    return updated.rows[0]!;
  });
}

/**
 * Soft-deletes a webhook: its deliveries stay readable, its endpoint answers 404, its secrets are erased.
 * Deleting it again changes nothing.
 */
export async function deleteWebhook(db: DataSource, orgId: string, id: string): Promise<void> {
  await db.transaction(async (manager) => {
    const webhook = await lockWebhook(manager, orgId, id, { withDeleted: true });
    if (webhook.provider === "github_app") throw installationWebhookConflict(id, "it goes away when the App is uninstalled");
    if (webhook.deleted_at) return;
    await sql(
      manager,
      `UPDATE webhooks
          SET deleted_at = now(), active = false, secret = NULL, previous_secret = NULL, previous_secret_expires_at = NULL,
              updated_at = now()
        WHERE id = $1`,
      [webhook.id],
    );
  });
}

export const MAX_SECRET_GRACE_SECONDS = 7 * 24 * 3600;

/**
 * Replaces the webhook's secret. The secret it replaces keeps working `graceSeconds` more (none by
 * default); any older one stops at once. The row lock makes concurrent rotations take turns, so the
 * secret returned by the last one to commit is the one in force.
 */
export async function regenerateWebhookSecret(
  db: DataSource,
  box: SecretBox,
  orgId: string,
  id: string,
  graceSeconds = 0,
): Promise<{ id: string; secret: string }> {
  return db.transaction(async (manager) => {
    const webhook = await lockWebhook(manager, orgId, id);
    if (webhook.provider === "github_app") throw installationWebhookConflict(id, "its deliveries are signed with the App's own secret");
    return { id: webhook.id, secret: await rotateSecret(manager, box, "webhooks", webhook.id, graceSeconds) };
  });
}

/** Seals every webhook secret still stored in clear (rows from before encryption); safe to run at every start. */
export async function sealStoredSecrets(db: Queryable, box: SecretBox): Promise<number> {
  return sealClearSecrets(db, box, "webhooks", ["secret", "previous_secret"]);
}
