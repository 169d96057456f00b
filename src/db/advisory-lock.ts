import type { DataSource, QueryRunner } from "typeorm";

/**
 * Runs `work` in a transaction that holds the advisory lock `key` until it ends; "try" skips the work (undefined)
 * when another session holds it, "wait" waits for it. A transaction-level lock, because behind PgBouncer in
 * transaction pooling a session lock stays on whichever server connection took it, and its unlock may reach another.
 */
export async function withAdvisoryLock<T>(
  db: DataSource,
  key: number,
  mode: "try" | "wait",
  work: (runner: QueryRunner) => Promise<T>,
): Promise<T | undefined> {
  const runner = db.createQueryRunner();
  try {
    await runner.startTransaction();
    if (mode === "wait") {
      await runner.query("SELECT pg_advisory_xact_lock($1)", [key]);
    } else {
      const [lock] = (await runner.query("SELECT pg_try_advisory_xact_lock($1) AS locked", [key])) as { locked: boolean }[];
      if (!lock?.locked) {
        await runner.rollbackTransaction();
        return undefined;
      }
    }
    const result = await work(runner);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}
