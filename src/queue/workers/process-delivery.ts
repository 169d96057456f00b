import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { countAttempt, deliveryTiming, finishDelivery, loadDelivery, recordDeliveryError } from "../../domain/deliveries.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import type { JobHandler } from "../queue.js";

export interface ProcessDeliveryDeps {
  db: DataSource;
  probot: Probot;
  log: Logger;
  metrics: Metrics;
}

/** The messages of every handler that failed (Probot rejects with an AggregateError). */
export function failureMessage(error: unknown): string {
  const nested = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(nested) && nested.length > 0) return nested.map(failureMessage).join("; ");
  return error instanceof Error ? error.message : String(error);
}

/** Hands a stored delivery to the Probot app; a delivery no handler finished is `ignored`. */
export function processDelivery(deps: ProcessDeliveryDeps): JobHandler<"process-delivery"> {
  return async ({ deliveryId }, job) => {
    const delivery = await loadDelivery(deps.db, deliveryId);
    if (!delivery) {
      deps.log.warn({ delivery_id: deliveryId }, "queued delivery no longer exists");
      return;
    }
    if (delivery.status !== "received") return;
    const name = delivery.event_type.split(".")[0]!;
    await countAttempt(deps.db, delivery.id);
    try {
      await deps.probot.receive({ id: delivery.id, name, payload: delivery.payload } as never);
    } catch (error) {
      const message = failureMessage(error);
      if (job.isLastAttempt) {
        await finishDelivery(deps.db, delivery.id, { status: "failed", error: message });
        await observe(deps, delivery.id);
        deps.log.error({ delivery_id: delivery.id, attempts: job.attempt, err: message }, "delivery failed");
      } else {
        await recordDeliveryError(deps.db, delivery.id, message);
      }
      throw error;
    }
    await finishDelivery(deps.db, delivery.id, { status: "ignored", actionTaken: `ignored: no action for ${delivery.event_type}` });
    await observe(deps, delivery.id);
  };
}

/** Counts a delivery that reached its final status, with the time it took. */
async function observe(deps: ProcessDeliveryDeps, deliveryId: string): Promise<void> {
  const done = await deliveryTiming(deps.db, deliveryId);
  if (!done || done.status === "received") return;
  deps.metrics.deliveriesFinished.inc({ event: done.event_type, status: done.status });
  if (done.processed_at) {
    deps.metrics.processingSeconds.observe({ event: done.event_type }, (done.processed_at.getTime() - done.created_at.getTime()) / 1000);
  }
}
