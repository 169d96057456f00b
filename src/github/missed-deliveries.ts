import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { APP_RECEIVER } from "../db/entities/delivery.js";
import { sql } from "../db/sql.js";
import type { Logger } from "../log.js";

/** GitHub keeps deliveries for 3 days and redelivers only within them. */
export const GITHUB_REDELIVERY_WINDOW_MS = 3 * 24 * 3600 * 1000;

interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  status: string;
  status_code: number;
  event: string;
  action?: string | null;
}

export interface RecoveryResult {
  /** Delivery attempts GitHub listed within the window. */
  listed: number;
  /** Deliveries that never succeeded and that we do not have. */
  missing: number;
  /** Of those, the ones we asked GitHub to send again now. */
  requested: number;
}

export interface RecoveryOptions {
  db: DataSource;
  probot: Probot;
  log: Logger;
  /** How far back to look; at most GitHub's 3 days. */
  windowMs: number;
  /** A delivery asked for is not asked for again sooner than this. */
  retryAfterMs: number;
}

/**
 * GitHub does not retry a failed delivery by itself: list the App's recent deliveries and ask
 * GitHub to redeliver those that never succeeded and that we never stored, as GitHub recommends.
 */
export async function recoverMissedDeliveries(options: RecoveryOptions): Promise<RecoveryResult> {
  const { db, probot, log } = options;
  const since = Date.now() - Math.min(options.windowMs, GITHUB_REDELIVERY_WINDOW_MS);
  const octokit = await probot.auth();
  const succeeded = new Set<string>();
  const failed = new Map<string, HookDelivery>();
  let listed = 0;
  pages: for await (const page of octokit.paginate.iterator("GET /app/hook/deliveries", { per_page: 100 })) {
    for (const delivery of page.data as HookDelivery[]) {
      if (Date.parse(delivery.delivered_at) < since) break pages;
      listed += 1;
      if (delivery.status === "OK") succeeded.add(delivery.guid);
      else if (!failed.has(delivery.guid)) failed.set(delivery.guid, delivery);
    }
  }
  const candidates = [...failed.keys()].filter((guid) => !succeeded.has(guid));
  if (candidates.length === 0) return { listed, missing: 0, requested: 0 };
  const stored = await sql<{ github_delivery_id: string }>(
    db,
    "SELECT github_delivery_id FROM webhook_deliveries WHERE receiver = $1 AND github_delivery_id = ANY($2::text[])",
    [APP_RECEIVER, candidates],
  );
  const have = new Set(stored.rows.map((r) => r.github_delivery_id));
  const missing = candidates.filter((guid) => !have.has(guid));
  const recent = await sql<{ guid: string }>(
    db,
    "SELECT guid FROM github_redelivery_requests WHERE guid = ANY($1::text[]) AND requested_at > now() - ($2 * interval '1 millisecond')",
    [missing, options.retryAfterMs],
  );
  const askedRecently = new Set(recent.rows.map((r) => r.guid));
  let requested = 0;
  for (const guid of missing.filter((g) => !askedRecently.has(g))) {
    const delivery = failed.get(guid)!;
    await octokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: delivery.id });
    await sql(
      db,
      `INSERT INTO github_redelivery_requests (guid, hook_delivery_id, event) VALUES ($1, $2, $3)
       ON CONFLICT (guid) DO UPDATE SET requested_at = now(), hook_delivery_id = EXCLUDED.hook_delivery_id,
         requests = github_redelivery_requests.requests + 1`,
      [guid, delivery.id, delivery.action ? `${delivery.event}.${delivery.action}` : delivery.event],
    );
    requested += 1;
  }
  if (requested > 0) log.info({ requested, missing: missing.length }, "asked GitHub to redeliver deliveries we never received");
  return { listed, missing: missing.length, requested };
}
