import type { DataSource } from "typeorm";
import { dispatchTask, expireDispatch } from "../../domain/dispatch.js";
import type { JobHandler } from "../queue.js";

export function dispatch(deps: { db: DataSource; ackTimeoutMs: number }): JobHandler<"dispatch"> {
  return async ({ taskId, round }) => {
    await dispatchTask(deps.db, taskId, round, deps.ackTimeoutMs);
  };
}

export function dispatchTimeout(deps: { db: DataSource }): JobHandler<"dispatch-timeout"> {
  return async ({ taskId, round }) => {
    await expireDispatch(deps.db, taskId, round);
  };
}
