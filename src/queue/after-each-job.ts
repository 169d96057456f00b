import { JOB_NAMES } from "./jobs.js";
import type { JobHandler, JobHandlers } from "./queue.js";

/** Wraps every handler so that `then` runs after each job, whether it succeeded or failed. */
export function afterEachJob(handlers: JobHandlers, then: () => Promise<void>): JobHandlers {
  const wrapped: Record<string, JobHandler<never>> = {};
  for (const name of JOB_NAMES) {
    const handler = handlers[name] as JobHandler<never> | undefined;
    if (!handler) continue;
    wrapped[name] = async (payload, context) => {
      try {
        await handler(payload, context);
      } finally {
        await then();
      }
    };
  }
  return wrapped as JobHandlers;
}
