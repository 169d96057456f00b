import type { DataSource, EntityManager } from "typeorm";
import type { SecretBox } from "../crypto/secret-box.js";
import type { OutboundWebhook } from "../db/entities/outbound-webhook.js";
import { sealClearSecrets } from "../db/seal-clear-secrets.js";
import { SetList } from "../db/set-list.js";
import { sql, type Queryable } from "../db/sql.js";
import { newWebhookSecret, rotateSecret, secretsInForce, type RotatingSecrets } from "./secret-rotation.js";
import { NotFoundError } from "./errors.js";
import { abandonWaitingDeliveries, DELETED, INACTIVE } from "./outbound-deliveries.js";
import { normalizeOutboundEvents } from "./outbound-events.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";
import { assertTeamOfOrg } from "./teams.js";

/** A subscription as the API shows it: never its secrets or its API key. */
export type OutboundWebhookView = Omit<OutboundWebhook, "secret" | "previous_secret" | "previous_secret_expires_at" | "api_key" | "deleted_at"> & {
  has_api_key: boolean;
};

export function outboundWebhookView(webhook: OutboundWebhook): OutboundWebhookView {
  const { secret: _s, previous_secret: _p, previous_secret_expires_at: _e, api_key: apiKey, deleted_at: _d, ...view } = webhook;
  return { ...view, has_api_key: apiKey !== null };
}

export interface OutboundCredentials {
  /** The secrets that sign a notification now: the current one, then the previous one during its grace period. */
  secrets: [string, ...string[]] | undefined;
  apiKey: string | null;
}

/** The subscription's secrets and API key, opened from how they are stored. */
export function openCredentials(webhook: RotatingSecrets & Pick<OutboundWebhook, "api_key">, box: SecretBox, now = new Date()): OutboundCredentials {
  const apiKey = webhook.api_key === null ? null : box.open(webhook.api_key);
  const [current, ...previous] = secretsInForce(webhook, box, now);
  return { secrets: current === undefined ? undefined : [current, ...previous], apiKey };
}

/** Seals every outbound secret and API key still stored in clear (rows from before encryption); safe to run at every start. */
export async function sealStoredOutboundSecrets(db: Queryable, box: SecretBox): Promise<number> {
  return sealClearSecrets(db, box, "outbound_webhooks", ["secret", "previous_secret", "api_key"]);
}

/**
 * Checks where a notification URL points (the SSRF guard, which outbound/ provides) and returns the URL as
 * stored; throws a ValidationError for a URL that may not be used.
 */
export type CheckUrl = (url: string) => Promise<string>;

export interface NewOutboundWebhook {
  orgId: string;
  teamId?: string | null;
  url: string;
  events: string[];
  apiKey?: string | null;
  active?: boolean;
}

export async function createOutboundWebhook(
  db: Queryable,
  box: SecretBox,
  checkUrl: CheckUrl,
  input: NewOutboundWebhook,
): Promise<{ webhook: OutboundWebhook; secret: string }> {
  const events = normalizeOutboundEvents(input.events);
  if (input.teamId) await assertTeamOfOrg(db, input.orgId, input.teamId, "in_body");
  const url = await checkUrl(input.url);
  const secret = newWebhookSecret();
  const result = await sql<OutboundWebhook>(
    db,
    `INSERT INTO outbound_webhooks (org_id, team_id, url, events, secret, api_key, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [input.orgId, input.teamId ?? null, url, events, box.seal(secret), input.apiKey ? box.seal(input.apiKey) : null, input.active ?? true],
  );
  return { webhook: result.rows[0]!, secret };
}

/** The organization's subscription; deleted ones only when asked (their delivery log stays readable). */
export async function getOutboundWebhook(db: Queryable, orgId: string, id: string, options: { withDeleted?: boolean } = {}): Promise<OutboundWebhook> {
  const result = await sql<OutboundWebhook>(
    db,
    `SELECT * FROM outbound_webhooks WHERE id = $1 AND org_id = $2${options.withDeleted ? "" : " AND deleted_at IS NULL"}`,
    [id, orgId],
  );
  if (!result.rows[0]) throw new NotFoundError(`outbound webhook ${id}`);
  return result.rows[0];
}

export async function listOutboundWebhooks(db: Queryable, orgId: string, page: PageRequest): Promise<Page<OutboundWebhookView>> {
  const query = pageQuery(
    { select: "SELECT * FROM outbound_webhooks", where: ["org_id = $1", "deleted_at IS NULL"], params: [orgId] },
    page,
    "uuid",
  );
  const result = await sql<OutboundWebhook>(db, query.text, query.params);
  const paged = toPage(result.rows, query.limit);
  return { data: paged.data.map(outboundWebhookView), next_cursor: paged.next_cursor };
}

async function lockOutboundWebhook(manager: EntityManager, orgId: string, id: string): Promise<OutboundWebhook> {
  const result = await sql<OutboundWebhook>(
    manager,
    "SELECT * FROM outbound_webhooks WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL FOR UPDATE",
    [id, orgId],
  );
  if (!result.rows[0]) throw new NotFoundError(`outbound webhook ${id}`);
  return result.rows[0];
}

export interface OutboundWebhookChanges {
  url?: string;
  events?: string[];
  /** null: every team. */
  teamId?: string | null;
  /** null removes the key. */
  apiKey?: string | null;
  active?: boolean;
}

/** Applies the changes; turning a subscription on again forgets why it was turned off and its failure streak. */
export async function updateOutboundWebhook(
  db: DataSource,
  box: SecretBox,
  checkUrl: CheckUrl,
  orgId: string,
  id: string,
  changes: OutboundWebhookChanges,
): Promise<OutboundWebhook> {
  const events = changes.events === undefined ? undefined : normalizeOutboundEvents(changes.events);
  await getOutboundWebhook(db, orgId, id);
  // The DNS check runs before the row is locked, so a slow resolver holds no lock.
  const url = changes.url === undefined ? undefined : await checkUrl(changes.url);
  return db.transaction(async (manager) => {
    const webhook = await lockOutboundWebhook(manager, orgId, id);
    if (changes.teamId) await assertTeamOfOrg(manager, orgId, changes.teamId, "in_body");
    const params: unknown[] = [webhook.id];
    const set = new SetList(params);
    if (url !== undefined) set.set("url", url);
    if (events !== undefined) set.set("events", events);
    if (changes.teamId !== undefined) set.set("team_id", changes.teamId);
    if (changes.apiKey !== undefined) set.set("api_key", changes.apiKey === null ? null : box.seal(changes.apiKey));
    if (changes.active !== undefined) set.set("active", changes.active);
    if (changes.active === true && !webhook.active) set.add("disabled_at = NULL, disabled_reason = NULL, failing_since = NULL");
    const updated = await sql<OutboundWebhook>(manager, `UPDATE outbound_webhooks SET ${set.toSql()} WHERE id = $1 RETURNING *`, params);
    if (changes.active === false && webhook.active) await abandonWaitingDeliveries(manager, webhook.id, INACTIVE);
    return updated.rows[0]!;
  });
}

/** Soft-deletes a subscription: nothing more is sent, its secrets and key are erased, its delivery log stays. */
export async function deleteOutboundWebhook(db: DataSource, orgId: string, id: string): Promise<void> {
  await db.transaction(async (manager) => {
    const result = await sql(
      manager,
      `UPDATE outbound_webhooks
          SET deleted_at = COALESCE(deleted_at, now()), active = false, secret = NULL, previous_secret = NULL,
              previous_secret_expires_at = NULL, api_key = NULL, updated_at = now()
        WHERE id = $1 AND org_id = $2
        RETURNING id`,
      [id, orgId],
    );
    if (result.rows.length === 0) throw new NotFoundError(`outbound webhook ${id}`);
    await abandonWaitingDeliveries(manager, id, DELETED);
  });
}

// jscpd:ignore-start: regenerateWebhookSecret is this verb on the other resource; only the parameters are alike.
/**
 * Replaces the signing secret. The one it replaces keeps signing too (a second webhook-signature value)
 * for `graceSeconds` (none by default), so receivers can switch without missing a notification.
 */
export async function regenerateOutboundSecret(
  db: DataSource,
  box: SecretBox,
  orgId: string,
  id: string,
  graceSeconds = 0,
): Promise<{ id: string; secret: string }> {
  return db.transaction(async (manager) => {
    const webhook = await lockOutboundWebhook(manager, orgId, id);
    return { id: webhook.id, secret: await rotateSecret(manager, box, "outbound_webhooks", webhook.id, graceSeconds) };
  });
}
// jscpd:ignore-end
