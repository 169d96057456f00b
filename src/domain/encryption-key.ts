import type { SecretBox } from "../crypto/secret-box.js";
import { sql, type Queryable } from "../db/sql.js";

const CHECK = "encryption_key_check";

/** Every column that holds a sealed secret, by table. */
const SEALED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  webhooks: ["secret", "previous_secret"],
  outbound_webhooks: ["secret", "previous_secret", "api_key"],
};

/** ENCRYPTION_KEY is not the key the stored secrets were sealed with: the app refuses to start. */
export class EncryptionKeyMismatchError extends Error {
  constructor() {
    super("ENCRYPTION_KEY: it does not open the secrets stored in the database (they were sealed with another key). " +
      "Set it back to that key, or give that key as ENCRYPTION_KEY_PREVIOUS and run `npm run admin -- reseal`");
    this.name = "EncryptionKeyMismatchError";
  }
}

async function sealedSample(db: Queryable, limit: number): Promise<string[]> {
  const values: string[] = [];
  for (const [table, columns] of Object.entries(SEALED_COLUMNS)) {
    for (const column of columns) {
      const rows = await sql<{ value: string }>(db, `SELECT ${column} AS value FROM ${table} WHERE starts_with(${column}, 'enc:') LIMIT $1`, [limit]);
      values.push(...rows.rows.map((r) => r.value));
    }
  }
  return values;
}

/**
 * Whether the box's key is the one the database's secrets were sealed with, by the check value stored
 * with them (the first start stores it, once the key opens what is there). `previous`: only a previous key
 * is: secrets open, and `npm run admin -- reseal` seals them again with the current key.
 */
export async function verifyEncryptionKey(db: Queryable, box: SecretBox): Promise<"current" | "previous"> {
  let stored = (await sql<{ value: string }>(db, "SELECT value FROM app_settings WHERE name = $1", [CHECK])).rows[0]?.value;
  if (stored === undefined) {
    const sample = await sealedSample(db, 5);
    if (!sample.every((value) => box.opensWithCurrentKey(value))) {
      // Sealed before check values were kept: a previous key that opens them all is theirs.
      try {
        sample.forEach((value) => box.open(value));
      } catch {
        throw new EncryptionKeyMismatchError();
      }
      return "previous";
    }
    await sql(db, "INSERT INTO app_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [CHECK, box.checkValue]);
    stored = (await sql<{ value: string }>(db, "SELECT value FROM app_settings WHERE name = $1", [CHECK])).rows[0]!.value;
  }
  if (stored === box.checkValue) return "current";
  if (box.previousCheckValues.includes(stored)) return "previous";
  throw new EncryptionKeyMismatchError();
}

/**
 * Opens every stored secret with the current or a previous key and seals it again with the current one,
 * then records the current key's check value. Returns how many values it sealed again.
 */
export async function resealSecrets(db: Queryable, box: SecretBox): Promise<number> {
  let resealed = 0;
  for (const [table, columns] of Object.entries(SEALED_COLUMNS)) {
    for (const column of columns) {
      const rows = await sql<{ id: string; value: string }>(db, `SELECT id, ${column} AS value FROM ${table} WHERE starts_with(${column}, 'enc:')`);
      for (const row of rows.rows) {
        if (box.opensWithCurrentKey(row.value)) continue;
        const updated = await sql(db, `UPDATE ${table} SET ${column} = $2 WHERE id = $1 AND ${column} = $3 RETURNING id`, [row.id, box.seal(box.open(row.value)), row.value]);
        resealed += updated.rows.length;
      }
    }
  }
  await sql(
    db,
    "INSERT INTO app_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()",
    [CHECK, box.checkValue],
  );
  return resealed;
}
