import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { withAdvisoryLock } from "../../db/advisory-lock.js";
import { notRequestedWithin, recordRedeliveryRequest, unstoredAppDeliveries } from "../../domain/redelivery-requests.js";
import { appHookDeliveries, GITHUB_REDELIVERY_WINDOW_MS } from "../../github/missed-deliveries.js";
import type { Logger } from "../../log.js";
import type { JobHandler } from "../queue.js";

/** Only one process at a time asks GitHub; the others skip their turn. */
export const RECOVERY_LOCK = 7_246_132;

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
  const { db, log } = options;
  const github = await appHookDeliveries(options.probot);
  const { listed, failed } = await github.listFailedSince(Date.now() - Math.min(options.windowMs, GITHUB_REDELIVERY_WINDOW_MS));
  if (failed.length === 0) return { listed, missing: 0, requested: 0 };
  const missing = await unstoredAppDeliveries(db, failed.map((d) => d.guid));
  const due = new Set(await notRequestedWithin(db, missing, options.retryAfterMs));
  let requested = 0;
  for (const delivery of failed.filter((d) => due.has(d.guid))) {
    await github.redeliver(delivery);
    await recordRedeliveryRequest(db, { guid: delivery.guid, hookDeliveryId: delivery.id, event: delivery.event });
    requested += 1;
  }
  if (requested > 0) log.info({ requested, missing: missing.length }, "asked GitHub to redeliver deliveries we never received");
  return { listed, missing: missing.length, requested };
}

export interface RecoverDeliveriesDeps extends RecoveryOptions {
  embedded: boolean;
}

export function recoverDeliveries(deps: RecoverDeliveriesDeps): JobHandler<"recover-deliveries"> {
  const run = () => recoverMissedDeliveries(deps);
  return async () => {
    // The embedded database has one process and one session: nothing to coordinate.
    if (deps.embedded) {
      await run();
      return;
    }
    // The lock's transaction stays open while GitHub is asked: one pooled connection, every RECOVER_INTERVAL_MS.
    await withAdvisoryLock(deps.db, RECOVERY_LOCK, "try", run);
  };
}
