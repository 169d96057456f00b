import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import type { Delivery } from "../../db/entities/delivery.js";
import { finishAndTime, recordDeliveryError, receivedDelivery, type DeliveryTiming, type FinishedDeliveries } from "../../domain/deliveries.js";
import { handlerErrors, processDeliveryBatch } from "../../domain/delivery-batch.js";
import { payloadProblem } from "../../domain/github-payloads.js";
import type { JobPayloads } from "../../domain/jobs.js";
import { rateLimitDelayMs } from "../../github/rate-limit.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import { DeliveryBatches, type DeliveryBatchesOptions } from "../delivery-batches.js";
import { RetryLaterError, type JobContext, type JobHandler } from "../queue.js";

export interface ProcessDeliveryDeps {
  db: DataSource;
  probot: Probot;
  log: Logger;
  metrics: Metrics;
  /** What the app's handlers left: a delivery a handler ended needs no query here. */
  finished: FinishedDeliveries;
  /** Where the jobs running at once pool their deliveries into batches. */
  batches: DeliveryBatches;
}

/** The messages of every handler that failed (Probot rejects with an AggregateError). */
export function failureMessage(error: unknown): string {
  return handlerErrors(error).map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
}

/** The longest wait GitHub asked for, when a handler failed on a rate limit (Octokit leaves the waiting to the queue). */
function rateLimitWait(error: unknown): number | undefined {
  const waits = handlerErrors(error)
    .map((e) => rateLimitDelayMs(e as Parameters<typeof rateLimitDelayMs>[0]))
    .filter((wait): wait is number => wait !== undefined);
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

/** Hands one stored delivery to the Probot app, under its stored id: the app's handlers record its outcome on it. */
export async function receiveDelivery(probot: Probot, delivery: Pick<Delivery, "id" | "event_type" | "payload">): Promise<void> {
  await probot.receive({ id: delivery.id, name: delivery.event_type.split(".")[0]!, payload: delivery.payload } as never);
}

/** Pools the deliveries of the jobs a worker process runs at once into batches (see DeliveryBatches). */
export function deliveryBatches(db: DataSource, probot: Probot, log: Logger, options?: DeliveryBatchesOptions): DeliveryBatches {
  return new DeliveryBatches(
    (ids) => processDeliveryBatch(db, ids, (delivery) => receiveDelivery(probot, delivery)),
    (error, deliveries) => log.info({ deliveries, err: (error as Error).message }, "a batch of deliveries failed; each is processed on its own"),
    options,
  );
}

/** What a job of process-delivery names: one delivery, or the deliveries stored together with it. */
export function jobDeliveries(payload: JobPayloads["process-delivery"]): string[] {
  return payload.deliveryIds?.length ? payload.deliveryIds : [payload.deliveryId];
}

/**
 * Hands stored deliveries to the Probot app: in a batch with the deliveries of the jobs running beside this one
 * (one transaction for all), and, for any the batch did not take (it failed as a whole, or another worker holds
 * the delivery), one by one. A delivery no handler finished is `ignored`. A handler that returns `failed` (a
 * payload without what it needs) ends the delivery at once: only thrown errors are retried, and a retry of the
 * job tries again only its deliveries still `received`.
 */
export function processDelivery(deps: ProcessDeliveryDeps): JobHandler<"process-delivery"> {
  return async (payload, job) => {
    const ids = jobDeliveries(payload);
    const { processed, failed } = await deps.batches.process(ids);
    const errors: unknown[] = [];
    for (const id of ids) {
      const done = processed.get(id);
      // Another job of the same batch may name the delivery too: it is counted once.
      processed.delete(id);
      try {
        if (done) {
          observe(deps, done.timing);
          if (done.timing.status === "failed") warnInvalidPayload(deps, id, done.delivery.event_type, done.delivery.payload);
        } else if (failed.has(id)) {
          const error = failed.get(id);
          failed.delete(id);
          await recordFailure(deps, id, error, job);
        } else {
          await processOne(deps, id, job);
        }
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 0) return;
    const waits = errors.filter((e): e is RetryLaterError => e instanceof RetryLaterError);
    if (waits.length > 0) {
      const wait = Math.max(...waits.map((e) => e.delayMs));
      throw new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
    }
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(failureMessage).join("; "));
  };
}

/** One delivery in a transaction of its own: the way back when a batch fails as a whole. */
async function processOne(deps: ProcessDeliveryDeps, deliveryId: string, job: JobContext): Promise<void> {
  // A delivery already finished (a job queued twice, a redelivery's leftover) is not tried again.
  const delivery = await receivedDelivery(deps.db, deliveryId);
  if (!delivery) return;
  try {
    await receiveDelivery(deps.probot, delivery);
  } catch (error) {
    deps.finished.take(delivery.id);
    await recordFailure(deps, delivery.id, error, job);
  }
  const done = deps.finished.take(delivery.id)
    ?? await finishAndTime(deps.db, delivery.id, { status: "ignored", actionTaken: `ignored: no action for ${delivery.event_type}` });
  observe(deps, done);
  if (done?.status === "failed") warnInvalidPayload(deps, delivery.id, delivery.event_type, delivery.payload);
}

/**
 * Counts a try whose handlers threw and keeps its error; always throws, for the queue to try the job again: after
 * GitHub's wait for a rate limit (which costs no attempt), else with backoff. The last attempt fails the delivery.
 */
async function recordFailure(deps: ProcessDeliveryDeps, deliveryId: string, error: unknown, job: JobContext): Promise<never> {
  const message = failureMessage(error);
  const wait = rateLimitWait(error);
  if (wait !== undefined) {
    await recordDeliveryError(deps.db, deliveryId, message);
    throw new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
  }
  if (job.isLastAttempt) {
    observe(deps, await finishAndTime(deps.db, deliveryId, { status: "failed", error: message }));
    deps.log.error({ delivery_id: deliveryId, attempts: job.attempt, err: message }, "delivery failed");
  } else {
    await recordDeliveryError(deps.db, deliveryId, message);
  }
  throw error;
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
