import { randomBytes } from "node:crypto";
import type { SecretBox } from "../crypto/secret-box.js";
import { sql, type Queryable } from "../db/sql.js";

/**
 * A new secret for an inbound or outbound webhook: `whsec_` + base64 of 32 random bytes, the form Standard
 * Webhooks libraries take. Secrets made before in hex keep working: inbound HMACs and X-Entourage-Signature
 * key on the whole text, and the Standard Webhooks key of a hex secret is still one fixed key.
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The sealed secrets of a row that signs: the current one, and the one it replaced until previous_secret_expires_at. */
export interface RotatingSecrets {
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

/** The row's secrets in force at `now`, opened: the current one, then the previous one while its grace period lasts. */
export function secretsInForce(row: RotatingSecrets, box: SecretBox, now = new Date()): string[] {
  const secrets = row.secret ? [box.open(row.secret)] : [];
  if (row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at > now) secrets.push(box.open(row.previous_secret));
  return secrets;
}

/**
 * Makes a new secret the row's signing secret and returns it in clear (it is stored sealed). The one it replaces
 * keeps working `graceSeconds` more (none for 0); any older one stops at once. `table` is the caller's constant, never input.
 */
export async function rotateSecret(db: Queryable, box: SecretBox, table: "webhooks" | "outbound_webhooks", id: string, graceSeconds: number): Promise<string> {
  const secret = newWebhookSecret();
  await sql(
    db,
    `UPDATE ${table}
        SET secret = $2,
            previous_secret = CASE WHEN $3::integer > 0 THEN secret END,
            previous_secret_expires_at = CASE WHEN $3::integer > 0 THEN clock_timestamp() + make_interval(secs => $3::integer) END,
            updated_at = now()
      WHERE id = $1`,
    [id, box.seal(secret), graceSeconds],
  );
  return secret;
}
