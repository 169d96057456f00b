import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { recoverMissedDeliveries } from "../../github/missed-deliveries.js";
import type { Logger } from "../../log.js";
import type { JobHandler } from "../queue.js";

/** Only one process at a time asks GitHub; the others skip their turn. */
export const RECOVERY_LOCK = 7_246_132;

export interface RecoverDeliveriesDeps {
  db: DataSource;
  probot: Probot;
  log: Logger;
  embedded: boolean;
  windowMs: number;
  retryAfterMs: number;
}

export function recoverDeliveries(deps: RecoverDeliveriesDeps): JobHandler<"recover-deliveries"> {
  const run = () => recoverMissedDeliveries(deps);
  return async () => {
    // The embedded database has one process and one session: nothing to coordinate.
    if (deps.embedded) {
      await run();
      return;
    }
    const runner = deps.db.createQueryRunner();
    try {
      const [lock] = (await runner.query("SELECT pg_try_advisory_lock($1) AS locked", [RECOVERY_LOCK])) as { locked: boolean }[];
      if (!lock?.locked) return;
      try {
        await run();
      } finally {
        await runner.query("SELECT pg_advisory_unlock($1)", [RECOVERY_LOCK]);
      }
    } finally {
      await runner.release();
    }
  };
}
