import { isUuid } from "../db/is-uuid.js";
import { ValidationError } from "./errors.js";

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: { created_at: Date; id: string | number }): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), String(row.id)])).toString("base64url");
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const createdAt = new Date(at);
    // Years outside 1..9999 are valid in JavaScript but not in a timestamptz.
    const year = createdAt.getUTCFullYear();
    if (typeof id !== "string" || Number.isNaN(createdAt.getTime()) || year < 1 || year > 9999) throw new Error("bad cursor");
    return { createdAt, id };
  } catch {
    throw new ValidationError("cursor is not one this API returned", "invalid_cursor");
  }
}

/** Adds filters to a query's `where` list, each value as the next parameter in `params`; `clause` gets its placeholder. */
export function filterAdder(where: string[], params: unknown[]): (clause: (placeholder: string) => string, value: unknown) => void {
  return (clause, value) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
}

const castable: Record<"uuid" | "integer", (id: string) => boolean> = {
  integer: (id) => /^\d{1,10}$/.test(id) && Number(id) <= 2_147_483_647,
  uuid: isUuid,
};

/**
 * Adds newest-first keyset paging to a query whose rows have created_at and id.
 * `where` already holds the filters with $1..$n in `params`; `idType` casts the cursor's id.
 */
export function pageQuery(
  base: { select: string; where: string[]; params: unknown[] },
  page: PageRequest,
  idType: "uuid" | "integer",
  alias = "",
): { text: string; params: unknown[]; limit: number } {
  const limit = Math.min(page.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const where = [...base.where];
  const params = [...base.params];
  const col = (name: string) => (alias ? `${alias}.${name}` : name);
  if (page.cursor) {
    const cursor = decodeCursor(page.cursor);
    // The id is cast in SQL: one that cannot be cast would fail the query instead of the request.
    if (!castable[idType](cursor.id)) throw new ValidationError("cursor is not one this API returned", "invalid_cursor");
    params.push(cursor.createdAt, cursor.id);
    where.push(`(${col("created_at")}, ${col("id")}) < ($${params.length - 1}, $${params.length}::${idType})`);
  }
  params.push(limit + 1);
  const text =
    `${base.select}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ` +
    `ORDER BY ${col("created_at")} DESC, ${col("id")} DESC LIMIT $${params.length}`;
  return { text, params, limit };
}

export function toPage<T extends { created_at: Date; id: string | number }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last ? encodeCursor(last) : null };
}
