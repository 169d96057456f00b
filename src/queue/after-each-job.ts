import { JOB_NAMES } from "./jobs.js";
import type { JobHandler, JobHandlers } from "./queue.js";

/** Wraps every handler so that `then` runs after each job, whether it succeeded or failed; failures are counted. */
export function afterEachJob(handlers: JobHandlers, then: () => Promise<void>, onFailure: (job: string) => void = () => undefined): JobHandlers {
  const wrapped: Record<string, JobHandler<never>> = {};
  for (const name of JOB_NAMES) {
    const handler = handlers[name] as JobHandler<never> | undefined;
    if (!handler) continue;
    wrapped[name] = async (payload, context) => {
      try {
        await handler(payload, context);
      } catch (error) {
        onFailure(name);
        throw error;
      } finally {
        await then();
      }
    };
  }
  return wrapped as JobHandlers;
}
