import { sql, type Queryable } from "../db/sql.js";

/**
 * Makes `sealedSecret` the row's signing secret. The one it replaces keeps working `graceSeconds` more
 * (none for 0); any older one stops at once. `table` is the caller's constant, never input.
 */
export async function rotateSecret(db: Queryable, table: "webhooks" | "outbound_webhooks", id: string, sealedSecret: string, graceSeconds: number): Promise<void> {
  await sql(
    db,
    `UPDATE ${table}
        SET secret = $2,
            previous_secret = CASE WHEN $3::integer > 0 THEN secret END,
            previous_secret_expires_at = CASE WHEN $3::integer > 0 THEN clock_timestamp() + make_interval(secs => $3::integer) END,
            updated_at = now()
      WHERE id = $1`,
    [id, sealedSecret, graceSeconds],
  );
}
