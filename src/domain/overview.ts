import { DELIVERY_STATUSES, type DeliveryStatus } from "../db/entities/delivery.js";
import { TASK_STATUSES, type TaskStatus } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";

function countsOf<K extends string>(keys: readonly K[], rows: { key: string; n: number }[]): Record<K, number> {
  const counts = Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
  for (const row of rows) if (row.key in counts) counts[row.key as K] = row.n;
  return counts;
}

/** How many of the organization's deliveries arrived since `since`, by status. */
export async function deliveryCountsSince(db: Queryable, orgId: string, since: Date): Promise<Record<DeliveryStatus, number>> {
  const result = await sql<{ key: string; n: number }>(
    db,
    "SELECT status AS key, count(*)::integer AS n FROM webhook_deliveries WHERE org_id = $1 AND created_at >= $2 GROUP BY status",
    [orgId, since],
  );
  return countsOf(DELIVERY_STATUSES, result.rows);
}

/** How many of the organization's tasks are in each status. */
export async function taskCounts(db: Queryable, orgId: string): Promise<Record<TaskStatus, number>> {
  const result = await sql<{ key: string; n: number }>(
    db,
    "SELECT status AS key, count(*)::integer AS n FROM tasks WHERE org_id = $1 GROUP BY status",
    [orgId],
  );
  return countsOf(TASK_STATUSES, result.rows);
}
