import { AsyncLocalStorage } from "node:async_hooks";
import type { DataSource, EntityManager } from "typeorm";
import type { Delivery } from "../db/entities/delivery.js";
import { deferWritesOf, shareRoundTrips } from "../db/deferred-writes.js";
import { pgErrorCode } from "../db/pg-error-code.js";
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
 * each is handed to `receive` (the Probot app) in the order they arrived (those stored together in the order of
 * `ids`), except that issues opened one after the other go at the same time, one lane per issue (see turns), and
 * every outcome is written with one statement before the one commit. A delivery no handler decided is `ignored`.
 * If a delivery's handlers throw, the whole batch is rolled back and a DeliveryHandlerError naming it is thrown:
 * the caller then goes on without it, so that a failed delivery fails alone.
 */
export async function processDeliveryBatch(db: DataSource, ids: readonly string[], receive: (delivery: Delivery) => Promise<void>): Promise<BatchedDelivery[]> {
  if (ids.length === 0) return [];
  return db.transaction(async (manager) => {
    const sharing = deferWritesOf(manager);
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
    // Lanes run at the same time only where their statements share round trips (node-postgres), and take turns there.
    const list = [...batch.held.values()];
    for (const lanes of sharing ? turns(list) : list.map((held) => [[held]])) {
      if (lanes.length === 1) await runLane(batch, lanes[0]!, receive);
      else await runLanes(batch, lanes, receive);
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

/**
 * The issue a delivery's handlers touch nothing but, for the events whose deliveries of different issues may run at
 * the same time: an issue opened creates its own task (and may take an idle agent, in turn with the others).
 * Any other event may reach across issues (a pull request that closes one, a comment that answers an agent).
 */
function laneKey({ delivery }: HeldDelivery): string | undefined {
  if (delivery.event_type !== "issues.opened") return undefined;
  const payload = delivery.payload as { repository?: { full_name?: string }; issue?: { number?: number } };
  const repository = payload.repository?.full_name;
  const issue = payload.issue?.number;
  return repository === undefined || issue === undefined ? undefined : `${repository}#${issue}`;
}

/**
 * The batch's deliveries in turns, in the order they arrived: a turn is one lane (deliveries one after the other)
 * or several lanes that run at the same time, one per issue, each lane in arrival order. A delivery that may reach
 * across issues is a turn of its own, after everything before it and before everything after it.
 */
function turns(deliveries: readonly HeldDelivery[]): HeldDelivery[][][] {
  const result: HeldDelivery[][][] = [];
  let lanes = new Map<string, HeldDelivery[]>();
  const close = () => {
    if (lanes.size > 0) result.push([...lanes.values()]);
    lanes = new Map();
  };
  for (const held of deliveries) {
    const key = laneKey(held);
    if (key === undefined) {
      close();
      result.push([[held]]);
      continue;
    }
    const lane = lanes.get(key);
    if (lane) lane.push(held);
    else lanes.set(key, [held]);
  }
  close();
  return result;
}

/** Hands a lane's deliveries to `receive` one after the other; a delivery whose handlers throw is named in the error. */
async function runLane(batch: Batch, lane: readonly HeldDelivery[], receive: (delivery: Delivery) => Promise<void>): Promise<void> {
  for (const held of lane) {
    try {
      await running.run(batch, () => receive(held.delivery));
    } catch (error) {
      throw new DeliveryHandlerError(held.delivery.id, error);
    }
    held.outcome ??= { status: "ignored", actionTaken: `ignored: no action for ${held.delivery.event_type}` };
  }
}

/**
 * Runs lanes at the same time, their statements sharing round trips (see shareRoundTrips). Once a statement fails,
 * the transaction is aborted and every statement after it fails too, with PostgreSQL's code 25P02: the delivery to
 * blame is the one lane that failed otherwise. When several did, the batch fails as a whole, and its deliveries go
 * one by one, where each fails alone.
 */
async function runLanes(batch: Batch, lanes: readonly HeldDelivery[][], receive: (delivery: Delivery) => Promise<void>): Promise<void> {
  const failures: DeliveryHandlerError[] = [];
  await shareRoundTrips(batch.manager, async () => {
    for (const settled of await Promise.allSettled(lanes.map((lane) => runLane(batch, lane, receive)))) {
      if (settled.status === "rejected") failures.push(settled.reason as DeliveryHandlerError);
    }
  });
  if (failures.length === 0) return;
  const own = failures.filter((failure) => !isAbortedTransaction(failure.cause));
  if (own.length === 1) throw own[0];
  throw new Error(`${failures.length} deliveries of a batch failed while running at the same time, ${own.length} on their own`, { cause: own[0] ?? failures[0] });
}

/** The error of a statement sent after another had failed in the same transaction, also when Probot wraps it. */
function isAbortedTransaction(error: unknown): boolean {
  return handlerErrors(error).every((e) => pgErrorCode(e) === "25P02");
}

/** The errors of the handlers that failed: Probot rejects with an AggregateError of them, which may nest. */
export function handlerErrors(error: unknown): unknown[] {
  const nested = (error as { errors?: unknown[] } | undefined)?.errors;
  return Array.isArray(nested) && nested.length > 0 ? nested.flatMap(handlerErrors) : [error];
}
