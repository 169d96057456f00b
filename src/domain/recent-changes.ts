import { sql, type Queryable } from "../db/sql.js";

/** What a page shows that changed: the delivery log, or tasks and agents. */
export type ChangeKind = "deliveries" | "tasks";

export interface RecentChange {
  org_id: string;
  kind: ChangeKind;
  /** The newest change of that kind in that organization. */
  at: Date;
}

/** The newest delivery and task change of each organization named, among those made after `since`. */
export async function recentChanges(db: Queryable, orgIds: readonly string[], since: Date): Promise<RecentChange[]> {
  const result = await sql<RecentChange>(
    db,
    `SELECT org_id, 'deliveries' AS kind, max(created_at) AS at FROM webhook_deliveries
      WHERE org_id = ANY($1::uuid[]) AND created_at > $2 GROUP BY org_id
     UNION ALL
     SELECT org_id, 'deliveries', max(processed_at) FROM webhook_deliveries
      WHERE processed_at > $2 AND org_id = ANY($1::uuid[]) GROUP BY org_id
     UNION ALL
     SELECT org_id, 'tasks', max(updated_at) FROM tasks WHERE org_id = ANY($1::uuid[]) AND updated_at > $2 GROUP BY org_id
     UNION ALL
     SELECT org_id, 'tasks', max(updated_at) FROM agents WHERE org_id = ANY($1::uuid[]) AND updated_at > $2 GROUP BY org_id`,
    [orgIds, since],
  );
  return result.rows.map((row) => ({ ...row, at: new Date(row.at) }));
}
