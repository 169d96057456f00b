import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { finishAndTime, recordDeliveryError, receivedDelivery, type DeliveryTiming, type FinishedDeliveries } from "../../domain/deliveries.js";
import { payloadProblem } from "../../domain/github-payloads.js";
import { rateLimitDelayMs } from "../../github/rate-limit.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import { RetryLaterError, type JobHandler } from "../queue.js";

export interface ProcessDeliveryDeps {
  db: DataSource;
  probot: Probot;
  log: Logger;
  metrics: Metrics;
  /** What the app's handlers left: a delivery a handler ended needs no query here. */
  finished: FinishedDeliveries;
}

/** The messages of every handler that failed (Probot rejects with an AggregateError). */
export function failureMessage(error: unknown): string {
  const nested = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(nested) && nested.length > 0) return nested.map(failureMessage).join("; ");
  return error instanceof Error ? error.message : String(error);
}

/** The longest wait GitHub asked for, when a handler failed on a rate limit (Octokit leaves the waiting to the queue). */
function rateLimitWait(error: unknown): number | undefined {
  const nested = (error as { errors?: unknown[] }).errors;
  const waits = (Array.isArray(nested) ? nested : [error])
    .map((e) => rateLimitDelayMs(e as Parameters<typeof rateLimitDelayMs>[0]))
    .filter((wait): wait is number => wait !== undefined);
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

/**
 * Hands a stored delivery to the Probot app; a delivery no handler finished is `ignored`. A handler that
 * returns `failed` (a payload without what it needs) ends the delivery at once: only thrown errors are retried.
 */
export function processDelivery(deps: ProcessDeliveryDeps): JobHandler<"process-delivery"> {
  return async ({ deliveryId }, job) => {
    // A delivery already finished (a job queued twice, a redelivery's leftover) is not tried again.
    const delivery = await receivedDelivery(deps.db, deliveryId);
    if (!delivery) return;
    const name = delivery.event_type.split(".")[0]!;
    try {
      await deps.probot.receive({ id: delivery.id, name, payload: delivery.payload } as never);
    } catch (error) {
      deps.finished.take(delivery.id);
      const message = failureMessage(error);
      const wait = rateLimitWait(error);
      if (wait !== undefined) {
        await recordDeliveryError(deps.db, delivery.id, message);
        throw new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
      }
      if (job.isLastAttempt) {
        observe(deps, await finishAndTime(deps.db, delivery.id, { status: "failed", error: message }));
        deps.log.error({ delivery_id: delivery.id, attempts: job.attempt, err: message }, "delivery failed");
      } else {
        await recordDeliveryError(deps.db, delivery.id, message);
      }
      throw error;
    }
    const done = deps.finished.take(delivery.id)
      ?? await finishAndTime(deps.db, delivery.id, { status: "ignored", actionTaken: `ignored: no action for ${delivery.event_type}` });
    observe(deps, done);
    if (done?.status === "failed") warnInvalidPayload(deps, delivery.id, delivery.event_type, delivery.payload);
  };
}

/** One line per delivery refused for its payload, naming the field; the payload itself never reaches the log. */
function warnInvalidPayload(deps: ProcessDeliveryDeps, deliveryId: string, eventType: string, payload: unknown): void {
  const problem = payloadProblem(eventType, payload);
  if (problem) deps.log.warn({ delivery_id: deliveryId, event_type: eventType, problem }, "delivery failed: invalid payload");
}

/** Counts a delivery that reached its final status, with the time it took. */
function observe(deps: ProcessDeliveryDeps, done: DeliveryTiming | undefined): void {
  if (!done || done.status === "received") return;
  deps.metrics.deliveriesFinished.inc({ event: done.event_type, status: done.status });
  if (done.processed_at) {
    deps.metrics.processingSeconds.observe({ event: done.event_type }, (done.processed_at.getTime() - done.created_at.getTime()) / 1000);
  }
}
