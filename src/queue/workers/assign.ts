import type { DataSource } from "typeorm";
import { assignOne } from "../../domain/assignment.js";
import type { JobHandler } from "../queue.js";

/** Hands the team's waiting tasks to its idle agents, one pair per transaction, until none is left. */
export function assignWaiting(deps: { db: DataSource }): JobHandler<"assign"> {
  return async ({ teamId }) => {
    while (await deps.db.transaction((manager) => assignOne(manager, teamId)));
  };
}
