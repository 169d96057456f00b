import { DataSource, type EntityManager } from "typeorm";

export type Queryable = DataSource | EntityManager;

export interface SqlResult<T> {
  rows: T[];
  rowCount: number;
}

/** Runs one parameterized statement and returns its rows and affected-row count, whatever the statement. */
export async function sql<T = Record<string, unknown>>(db: Queryable, text: string, params: unknown[] = []): Promise<SqlResult<T>> {
  const manager = db instanceof DataSource ? db.manager : db;
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return { rows: (result.records ?? []) as T[], rowCount: result.affected ?? result.records?.length ?? 0 };
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}
