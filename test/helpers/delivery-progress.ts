import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";

/**
 * Waits until at least `expected` deliveries exist and every one is processed; fails at once when
 * one ended ignored or failed (it will never make its task), or after timeoutMs.
 */
export async function waitForProcessed(pool: pg.Pool, expected: number, timeoutMs: number, check: () => void = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const rows = (await pool.query<{ status: string; n: number; sample: string | null }>(
      "SELECT status, count(*)::integer AS n, min(coalesce(action_taken, error)) AS sample FROM webhook_deliveries GROUP BY status")).rows;
    const finishedOtherwise = rows.filter((r) => r.status === "ignored" || r.status === "failed");
    if (finishedOtherwise.length > 0) throw new Error(`deliveries that will not make a task: ${JSON.stringify(finishedOtherwise)}`);
    const processed = rows.find((r) => r.status === "processed")?.n ?? 0;
    const waiting = rows.find((r) => r.status === "received")?.n ?? 0;
    if (processed >= expected && waiting === 0) return;
    if (Date.now() > deadline) throw new Error(`after ${timeoutMs} ms: ${JSON.stringify(rows)}; expected ${expected} processed`);
    await sleep(250);
  }
}

/** How many tasks each issue number of the repository has. */
export async function tasksByIssue(pool: pg.Pool, repository: string): Promise<Map<number, number>> {
  const rows = (await pool.query<{ number: number; n: number }>(
    "SELECT (source->>'number')::integer AS number, count(*)::integer AS n FROM tasks WHERE source->>'repository' = $1 GROUP BY 1",
    [repository],
  )).rows;
  return new Map(rows.map((r) => [r.number, r.n]));
}
