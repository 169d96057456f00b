import type { DataSource } from "typeorm";
import { assignOne, pairLeft } from "../../domain/assignment.js";
import { RetryLaterError, type JobHandler } from "../queue.js";

/** How long to wait before looking again at a pair another transaction held. */
const HELD_PAIR_RETRY_MS = 500;

/**
 * Hands the team's waiting tasks to its idle agents, one pair per transaction, until none is left. A pair
 * skipped because another transaction held it is tried again shortly: nobody else would ask for it.
 */
export function assignWaiting(deps: { db: DataSource }): JobHandler<"assign"> {
  return async ({ teamId }) => {
    while (await deps.db.transaction((manager) => assignOne(manager, teamId)));
    if (await pairLeft(deps.db, teamId)) throw new RetryLaterError(HELD_PAIR_RETRY_MS, "a waiting task or an idle agent of the team was held by another transaction");
  };
}
