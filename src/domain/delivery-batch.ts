import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, EntityManager } from "typeorm";
import type { Delivery } from "../db/entities/delivery.js";
import { deferWritesOf } from "../db/deferred-writes.js";
import { flushWrites, sql } from "../db/sql.js";
import { finishDelivery, type DeliveryOutcome, type DeliveryTiming, type FinishedOutcome } from "./deliveries.js";
import { ROUTE_ROWS, splitRouteRows, type RouteRows, type RouteRowsJson } from "./routing.js";

/** A delivery of a batch: locked by the batch's transaction, with the rows it routes to, and its outcome once decided. */
interface HeldDelivery {
  delivery: Delivery;
  rows: RouteRows;
  outcome?: DeliveryOutcome;
}

interface Batch {
  manager: EntityManager;
  held: Map<string, HeldDelivery>;
}

/** The batch whose transaction the handlers of the current delivery run in. */
const running = new AsyncLocalStorage<Batch>();

/** Decides a locked, still `received` delivery's outcome, inside the transaction that will record it. */
export type DeliveryWork = (manager: EntityManager, delivery: Delivery, rows: RouteRows) => Promise<DeliveryOutcome>;

let columnsButPayload: string | undefined;

/** Every column of webhook_deliveries but its payload, from the entity. */
function deliveryColumnsButPayload(db: DataSource): string {
  columnsButPayload ??= db.getMetadata("Delivery").columns.map((c) => c.databaseName).filter((name) => name !== "payload").map((name) => `d.${name}`).join(", ");
  return columnsButPayload;
}

/**
 * Runs `work` on the delivery with its row locked, so that two workers holding the same delivery take turns, and
 * records the outcome in the same transaction as the work it describes. Inside a batch (processDeliveryBatch) that
 * transaction is the batch's, and the outcome is written with the batch's; otherwise the delivery gets one of its own.
 * `payload`, when given, is the stored payload as the caller already holds it (it never changes once stored).
 */
export async function withLockedDelivery(db: DataSource, deliveryId: string, work: DeliveryWork, payload?: Record<string, unknown>): Promise<FinishedOutcome> {
  const batch = running.getStore();
  const held = batch?.held.get(deliveryId);
  if (batch && held) {
    held.outcome ??= await work(batch.manager, held.delivery, held.rows);
    return held.outcome;
  }
  return db.transaction(async (manager) => {
    const columns = payload ? deliveryColumnsButPayload(db) : "d.*";
    const locked = await sql<Delivery & RouteRowsJson>(
      manager,
      `SELECT ${columns}, ${ROUTE_ROWS.select} FROM webhook_deliveries d ${ROUTE_ROWS.joins} WHERE d.id = $1 FOR UPDATE OF d`,
      [deliveryId],
    );
    if (!locked.rows[0]) throw new Error(`delivery ${deliveryId} does not exist`);
    const { row, rows } = splitRouteRows(locked.rows[0]);
    const delivery = payload ? { ...row, payload } : row;
    if (delivery.status !== "received") {
      return { status: delivery.status as DeliveryOutcome["status"], actionTaken: delivery.action_taken, taskId: delivery.task_id };
    }
    const outcome = await work(manager, delivery, rows);
    return { ...outcome, timing: await finishDelivery(manager, delivery.id, outcome) };
  });
}

/** A delivery a batch processed, and how it ended. */
export interface BatchedDelivery {
  delivery: Pick<Delivery, "id" | "event_type" | "payload">;
  outcome: DeliveryOutcome;
  timing: DeliveryTiming;
}

/** Ends the batch's deliveries in one statement; the rows come back with what a metric needs. */
const FINISH_ALL = `
  UPDATE webhook_deliveries d
     SET status = o.status, action_taken = o.action_taken, task_id = o.task_id, error = o.error, attempts = d.attempts + 1,
         webhook_id = COALESCE(o.webhook_id, d.webhook_id), org_id = COALESCE(o.org_id, d.org_id), processed_at = now()
    FROM jsonb_to_recordset($1::jsonb)
      AS o(id uuid, status text, action_taken text, task_id integer, error text, webhook_id uuid, org_id uuid)
   WHERE d.id = o.id AND d.status = 'received'
  RETURNING d.id, d.event_type, d.status, d.created_at, d.processed_at`;

/** A delivery's handlers threw inside a batch, which is undone: the error is this delivery's, not the batch's. */
export class DeliveryHandlerError extends Error {
  constructor(readonly deliveryId: string, cause: unknown) {
    super(`delivery ${deliveryId}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "DeliveryHandlerError";
  }
}

/**
 * Processes the deliveries among `ids` that are still `received` and that no one else holds, in one transaction:
 * each is handed to `receive` (the Probot app) in turn, in the order they arrived (those stored together in the
 * order of `ids`), and every outcome is written with one statement before the one commit. A delivery no handler
 * decided is `ignored`. If a delivery's handlers throw, the whole batch is rolled back and a DeliveryHandlerError
 * naming it is thrown: the caller then goes on without it, so that a failed delivery fails alone.
 */
export async function processDeliveryBatch(db: DataSource, ids: readonly string[], receive: (delivery: Delivery) => Promise<void>): Promise<BatchedDelivery[]> {
  if (ids.length === 0) return [];
  return db.transaction(async (manager) => {
    deferWritesOf(manager);
    const claimed = await sql<Delivery & RouteRowsJson>(
      manager,
      `SELECT d.*, ${ROUTE_ROWS.select} FROM webhook_deliveries d ${ROUTE_ROWS.joins}
        WHERE d.id = ANY($1::uuid[]) AND d.status = 'received'
        ORDER BY d.created_at, array_position($1::uuid[], d.id) FOR UPDATE OF d SKIP LOCKED`,
      [ids],
    );
    const batch: Batch = { manager, held: new Map() };
    for (const json of claimed.rows) {
      const { row, rows } = splitRouteRows(json);
      batch.held.set(row.id, { delivery: row, rows });
    }
    for (const held of batch.held.values()) {
      try {
        await running.run(batch, () => receive(held.delivery));
      } catch (error) {
        throw new DeliveryHandlerError(held.delivery.id, error);
      }
      held.outcome ??= { status: "ignored", actionTaken: `ignored: no action for ${held.delivery.event_type}` };
    }
    const outcomes = [...batch.held.values()].map(({ delivery, outcome }) => ({
      id: delivery.id, status: outcome!.status, action_taken: outcome!.actionTaken ?? null, task_id: outcome!.taskId ?? null,
      error: outcome!.error ?? null, webhook_id: outcome!.webhookId ?? null, org_id: outcome!.orgId ?? null,
    }));
    const finished = outcomes.length === 0 ? [] : (await sql<DeliveryTiming & { id: string }>(manager, FINISH_ALL, [JSON.stringify(outcomes)])).rows;
    await flushWrites(manager);
    const timings = new Map(finished.map(({ id, ...timing }) => [id, timing]));
    return [...batch.held.values()].map(({ delivery, outcome }) => ({ delivery, outcome: outcome!, timing: timings.get(delivery.id)! }));
  });
}
