import { DataSource, type EntityManager } from "typeorm";
import { holdBack, runDeferring } from "./deferred-writes.js";

export { flushWrites, inTurn } from "./deferred-writes.js";

export type Queryable = DataSource | EntityManager;

export interface SqlResult<T> {
  rows: T[];
  rowCount: number;
}

/** Runs one parameterized statement and returns its rows and affected-row count, whatever the statement. */
export async function sql<T = Record<string, unknown>>(db: Queryable, text: string, params: unknown[] = []): Promise<SqlResult<T>> {
  const manager = db instanceof DataSource ? db.manager : db;
  const deferring = await runDeferring(manager, text, params);
  if (deferring) return { rows: deferring.rows as T[], rowCount: deferring.rowCount ?? deferring.rows.length };
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return { rows: (result.records ?? []) as T[], rowCount: result.affected ?? result.records?.length ?? 0 };
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}

/**
 * A write whose result no one reads: inside a transaction that defers writes (a batch of deliveries) it goes
 * with a later statement's round trip (see runDeferring); anywhere else it runs now. A held INSERT must add rows
 * that reference no row another held write adds: held INSERTs of different tables may be sent in either order.
 */
export async function write(db: Queryable, text: string, params: unknown[] = []): Promise<void> {
  if (!(db instanceof DataSource) && holdBack(db, text, params)) return;
  await sql(db, text, params);
}
