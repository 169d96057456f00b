import { JOB_NAMES, type JobName } from "../domain/jobs.js";
import { PermanentJobError, RetryLaterError, type JobHandler, type JobHandlers } from "./queue.js";

export interface JobHooks {
  /** Runs after every try, whatever its outcome. */
  afterEach(): Promise<void>;
  /** A try failed, also one that will be tried again. */
  onFailure?(name: JobName): void;
  /** The job will not run again: it succeeded, or its failure was final. */
  onFinished?(name: JobName, jobId: string): Promise<void>;
}

/** Wraps every handler with the hooks. */
export function afterEachJob(handlers: JobHandlers, hooks: JobHooks): JobHandlers {
  const wrapped: Record<string, JobHandler<never>> = {};
  for (const name of JOB_NAMES) {
    const handler = handlers[name] as JobHandler<never> | undefined;
    if (!handler) continue;
    wrapped[name] = async (payload, context) => {
      let finished = true;
      try {
        await handler(payload, context);
      } catch (error) {
        hooks.onFailure?.(name);
        finished = !(error instanceof RetryLaterError) && (error instanceof PermanentJobError || context.isLastAttempt);
        throw error;
      } finally {
        if (finished) await hooks.onFinished?.(name, context.jobId);
        await hooks.afterEach();
      }
    };
  }
  return wrapped as JobHandlers;
}
