import { SEALED_PREFIX, SecretBox } from "../crypto/secret-box.js";
import { sql, type Queryable } from "./sql.js";

/**
 * Seals the secret columns of every row of `table` that still holds one in clear (rows written before
 * encryption). Safe at every start, and from several processes starting at once. `table` and `columns` are
 * the caller's constants, never input. Returns how many rows it sealed.
 */
export async function sealClearSecrets(db: Queryable, box: SecretBox, table: string, columns: readonly string[]): Promise<number> {
  const stillClear = columns.map((column) => `NOT starts_with(${column}, $1)`).join(" OR ");
  const rows = await sql<Record<string, string | null>>(db, `SELECT id, ${columns.join(", ")} FROM ${table} WHERE ${stillClear}`, [SEALED_PREFIX]);
  const assignments = columns.map((column, i) => `${column} = $${i + 2}`).join(", ");
  // Only a row unchanged since it was read: a rotation or an edit in between keeps its own (sealed) values.
  const unchanged = columns.map((column, i) => `${column} IS NOT DISTINCT FROM $${columns.length + i + 2}`).join(" AND ");
  let sealed = 0;
  for (const row of rows.rows) {
    const stored = columns.map((column) => row[column] ?? null);
    const values = stored.map((value) => (value === null || SecretBox.isSealed(value) ? value : box.seal(value)));
    const updated = await sql(db, `UPDATE ${table} SET ${assignments} WHERE id = $1 AND ${unchanged} RETURNING id`, [row.id, ...values, ...stored]);
    sealed += updated.rows.length;
  }
  return sealed;
}
