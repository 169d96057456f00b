import { APP_RECEIVER } from "../db/entities/delivery.js";
import { sql, type Queryable } from "../db/sql.js";

/** Of these X-GitHub-Delivery ids, the ones the App's webhook never stored. */
export async function unstoredAppDeliveries(db: Queryable, guids: string[]): Promise<string[]> {
  const stored = await sql<{ github_delivery_id: string }>(
    db,
    "SELECT github_delivery_id FROM webhook_deliveries WHERE receiver = $1 AND github_delivery_id = ANY($2::text[])",
    [APP_RECEIVER, guids],
  );
  const have = new Set(stored.rows.map((r) => r.github_delivery_id));
  return guids.filter((guid) => !have.has(guid));
}

/** Of these X-GitHub-Delivery ids, the ones GitHub was not asked to redeliver within the last `withinMs`. */
export async function notRequestedWithin(db: Queryable, guids: string[], withinMs: number): Promise<string[]> {
  const recent = await sql<{ guid: string }>(
    db,
    "SELECT guid FROM github_redelivery_requests WHERE guid = ANY($1::text[]) AND requested_at > now() - ($2 * interval '1 millisecond')",
    [guids, withinMs],
  );
  const asked = new Set(recent.rows.map((r) => r.guid));
  return guids.filter((guid) => !asked.has(guid));
}

/** Remembers that GitHub was asked to redeliver, so that it is not asked again too soon. */
export async function recordRedeliveryRequest(db: Queryable, request: { guid: string; hookDeliveryId: number; event: string }): Promise<void> {
  await sql(
    db,
    `INSERT INTO github_redelivery_requests (guid, hook_delivery_id, event) VALUES ($1, $2, $3)
     ON CONFLICT (guid) DO UPDATE SET requested_at = now(), hook_delivery_id = EXCLUDED.hook_delivery_id,
       requests = github_redelivery_requests.requests + 1`,
    [request.guid, request.hookDeliveryId, request.event],
  );
}
