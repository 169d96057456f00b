import type { DataSource } from "typeorm";
import { APP_RECEIVER, type Delivery, type DeliveryStatus } from "../db/entities/delivery.js";
import { sql, type Queryable } from "../db/sql.js";
import { deliverySummary } from "./delivery-summary.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { eventType } from "./event-types.js";
import { deliveryJobId } from "./jobs.js";
import { scheduleJob } from "./outbox.js";
import { filterAdder, pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

export interface NewDelivery {
  /** APP_RECEIVER or the receiving webhook's id. */
  receiver: string;
  webhookId: string | null;
  orgId: string | null;
  githubDeliveryId: string;
  /** The X-GitHub-Event header: `issues`, `pull_request`, … */
  event: string;
  payload: Record<string, unknown>;
  /** `payload` as it arrived, stored as it is: spares writing the parsed payload back to JSON. */
  payloadJson?: string;
  /** The request's headers worth showing: never its signatures. */
  headers?: Record<string, string>;
  /** `ignored` stores a delivery that will not be processed (an event the webhook does not subscribe to). */
  status?: Extract<DeliveryStatus, "received" | "ignored">;
  actionTaken?: string;
}

export interface RecordedDelivery {
  id: string;
  status: DeliveryStatus;
  /** True when this receiver had already stored this delivery id. */
  duplicate: boolean;
}

const DELIVERY_COLUMNS = 13;

function deliveryRow(input: NewDelivery): unknown[] {
  const installation = input.payload.installation as { id?: unknown } | undefined;
  const status = input.status ?? "received";
  return [
    input.receiver, input.webhookId, input.orgId, input.githubDeliveryId, eventType(input.event, input.payload),
    typeof input.payload.action === "string" ? input.payload.action : null,
    typeof installation?.id === "number" ? installation.id : null,
    JSON.stringify(deliverySummary(input.payload)), input.payloadJson ?? JSON.stringify(input.payload), status,
    input.actionTaken ?? null, status === "received" ? null : new Date(), JSON.stringify(input.headers ?? {}),
  ];
}

const key = (receiver: string, githubDeliveryId: string) => `${receiver}\n${githubDeliveryId}`;

/**
 * Stores deliveries once per receiver and GitHub delivery id, in one statement (one commit for all).
 * The same delivery twice in `inputs` is stored by its first; the others, and deliveries stored before, come back `duplicate`.
 */
export async function recordDeliveries(db: Queryable, inputs: readonly NewDelivery[]): Promise<RecordedDelivery[]> {
  if (inputs.length === 0) return [];
  const values = inputs.map((_, row) =>
    `(${Array.from({ length: DELIVERY_COLUMNS }, (__, column) => `$${row * DELIVERY_COLUMNS + column + 1}`).join(", ")})`);
  const inserted = await sql<Pick<Delivery, "id" | "receiver" | "github_delivery_id">>(
    db,
    `INSERT INTO webhook_deliveries
       (receiver, webhook_id, org_id, github_delivery_id, event_type, action, github_installation_id,
        payload_summary, payload, status, action_taken, processed_at, headers)
     VALUES ${values.join(", ")}
     ON CONFLICT (receiver, github_delivery_id) DO NOTHING
     RETURNING id, receiver, github_delivery_id`,
    inputs.flatMap(deliveryRow),
  );
  const fresh = new Map(inserted.rows.map((row) => [key(row.receiver, row.github_delivery_id), row.id]));
  const results: (RecordedDelivery | undefined)[] = inputs.map((input) => {
    const k = key(input.receiver, input.githubDeliveryId);
    const id = fresh.get(k);
    if (id === undefined) return undefined;
    fresh.delete(k);
    return { id, status: input.status ?? "received", duplicate: false };
  });
  const seen = inputs.filter((_, i) => results[i] === undefined);
  if (seen.length === 0) return results as RecordedDelivery[];
  const existing = await sql<Pick<Delivery, "id" | "status" | "receiver" | "github_delivery_id">>(
    db,
    `SELECT d.id, d.status, d.receiver, d.github_delivery_id
       FROM webhook_deliveries d JOIN unnest($1::text[], $2::text[]) AS k(receiver, github_delivery_id)
         ON d.receiver = k.receiver AND d.github_delivery_id = k.github_delivery_id`,
    [seen.map((input) => input.receiver), seen.map((input) => input.githubDeliveryId)],
  );
  const stored = new Map(existing.rows.map((row) => [key(row.receiver, row.github_delivery_id), row]));
  return inputs.map((input, i) => {
    if (results[i]) return results[i];
    const row = stored.get(key(input.receiver, input.githubDeliveryId))!;
    return { id: row.id, status: row.status, duplicate: true };
  });
}

export interface DeliveryOutcome {
  status: Extract<DeliveryStatus, "processed" | "ignored" | "failed">;
  actionTaken?: string | null;
  taskId?: number | null;
  error?: string | null;
  /** The routing found while processing, kept so the delivery shows under its webhook. */
  webhookId?: string | null;
  orgId?: string | null;
}

/** The UPDATE that ends a delivery still `received`; $1 its id, then finishParams. */
const FINISH = `
  UPDATE webhook_deliveries
     SET status = $2, action_taken = $3, task_id = $4, error = $5, attempts = attempts + 1,
         webhook_id = COALESCE($6, webhook_id), org_id = COALESCE($7, org_id), processed_at = now()
   WHERE id = $1 AND status = 'received'`;

function finishParams(id: string, outcome: DeliveryOutcome): unknown[] {
  return [id, outcome.status, outcome.actionTaken ?? null, outcome.taskId ?? null, outcome.error ?? null, outcome.webhookId ?? null, outcome.orgId ?? null];
}

export type DeliveryTiming = Pick<Delivery, "event_type" | "status" | "created_at" | "processed_at">;

/** How a handler ended a delivery, with its timing when this call is the one that ended it. */
export type FinishedOutcome = DeliveryOutcome & { timing?: DeliveryTiming };

/** Records how a delivery ended, once: a delivery that already ended keeps its first outcome (and no timing is returned). */
export async function finishDelivery(db: Queryable, id: string, outcome: DeliveryOutcome): Promise<DeliveryTiming | undefined> {
  const result = await sql<DeliveryTiming>(db, `${FINISH} RETURNING event_type, status, created_at, processed_at`, finishParams(id, outcome));
  return result.rows[0];
}

/**
 * Hands the timing of a delivery its handler ended to the job that ran the handler, which then needs no
 * query of its own to count it. Keyed by delivery id: jobs of one process run side by side.
 */
export class FinishedDeliveries {
  private readonly timings = new Map<string, DeliveryTiming>();

  record(id: string, timing: DeliveryTiming | undefined): void {
    if (timing) this.timings.set(id, timing);
  }

  take(id: string): DeliveryTiming | undefined {
    const timing = this.timings.get(id);
    this.timings.delete(id);
    return timing;
  }
}

/** finishDelivery, returning in the same round trip what a metric needs of whichever outcome stands (this one or an earlier). */
export async function finishAndTime(db: Queryable, id: string, outcome: DeliveryOutcome): Promise<DeliveryTiming | undefined> {
  const result = await sql<DeliveryTiming>(
    db,
    `WITH finished AS (${FINISH} RETURNING event_type, status, created_at, processed_at)
     SELECT * FROM finished
     UNION ALL
     SELECT event_type, status, created_at, processed_at FROM webhook_deliveries WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM finished)`,
    finishParams(id, outcome),
  );
  return result.rows[0];
}

/**
 * A delivery still `received`, to process; undefined when it is gone or finished. Reading writes nothing, so a try
 * costs no commit of its own: it is counted in `attempts` when it ends, by its outcome or by its error.
 */
export async function receivedDelivery(db: Queryable, id: string): Promise<Delivery | undefined> {
  const result = await sql<Delivery>(db, "SELECT * FROM webhook_deliveries WHERE id = $1 AND status = 'received'", [id]);
  return result.rows[0];
}

/** Keeps the last processing error on a delivery that will be tried again, and counts the try. */
export async function recordDeliveryError(db: Queryable, id: string, error: string): Promise<void> {
  await sql(db, "UPDATE webhook_deliveries SET error = $2, attempts = attempts + 1 WHERE id = $1 AND status = 'received'", [id, error]);
}

/** The columns a delivery list shows: everything but the payload. */
const LIST_COLUMNS =
  "id, webhook_id, github_delivery_id, event_type, action, status, payload_summary, action_taken, task_id, error, attempts, redeliveries, created_at, processed_at";

export type DeliveryListItem = Omit<Delivery, "payload" | "headers" | "receiver" | "org_id" | "github_installation_id">;

export interface DeliveryFilters {
  webhook_id?: string;
  status?: DeliveryStatus;
  /** `issues.opened`, or `issues` for every action of it. */
  event_type?: string;
  /** owner/name */
  repository?: string;
}

/** The organization's deliveries, newest first, filtered by webhook, status, event and repository. */
export async function listOrganizationDeliveries(db: Queryable, orgId: string, filters: DeliveryFilters, page: PageRequest): Promise<Page<DeliveryListItem>> {
  const where = ["org_id = $1"];
  const params: unknown[] = [orgId];
  const add = filterAdder(where, params);
  if (filters.webhook_id) add((p) => `webhook_id = ${p}`, filters.webhook_id);
  if (filters.status) add((p) => `status = ${p}`, filters.status);
  if (filters.event_type) add((p) => `(event_type = ${p} OR split_part(event_type, '.', 1) = ${p})`, filters.event_type);
  if (filters.repository) add((p) => `payload_summary->>'repository' = ${p}`, filters.repository);
  const query = pageQuery({ select: `SELECT ${LIST_COLUMNS} FROM webhook_deliveries`, where, params }, page, "uuid");
  const result = await sql<DeliveryListItem>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}

export async function listDeliveries(
  db: Queryable,
  orgId: string,
  webhookId: string,
  filters: { status?: DeliveryStatus; event_type?: string },
  page: PageRequest,
): Promise<Page<DeliveryListItem>> {
  return listOrganizationDeliveries(db, orgId, { ...filters, webhook_id: webhookId }, page);
}

export async function getDelivery(db: Queryable, orgId: string, webhookId: string, id: string): Promise<Delivery> {
  const result = await sql<Delivery>(
    db,
    "SELECT * FROM webhook_deliveries WHERE id = $1 AND org_id = $2 AND webhook_id = $3",
    [id, orgId, webhookId],
  );
  if (!result.rows[0]) throw new NotFoundError(`delivery ${id}`);
  return result.rows[0];
}

/**
 * Sends a stored delivery back to `received` for another processing round, and schedules the round's
 * job in the same transaction; returns the round's number, which names its job. A delivery still
 * `received` is being processed and is left alone; two calls at once reopen it once.
 */
export async function reopenDelivery(db: DataSource, orgId: string, webhookId: string, id: string): Promise<{ id: string; round: number }> {
  const row = await db.transaction(async (manager) => {
    const reopened = await sql<{ id: string; redeliveries: number }>(
      manager,
      `UPDATE webhook_deliveries
          SET status = 'received', action_taken = NULL, task_id = NULL, error = NULL, processed_at = NULL,
              redeliveries = redeliveries + 1
        WHERE id = $1 AND org_id = $2 AND webhook_id = $3 AND status <> 'received'
        RETURNING id, redeliveries`,
      [id, orgId, webhookId],
    );
    const reopenedRow = reopened.rows[0];
    if (reopenedRow) await scheduleJob(manager, "process-delivery", { deliveryId: reopenedRow.id }, { jobId: deliveryJobId(reopenedRow.id, reopenedRow.redeliveries) });
    return reopenedRow;
  });
  if (row) return { id: row.id, round: row.redeliveries };
  await getDelivery(db, orgId, webhookId, id);
  throw new ConflictError(`delivery ${id} is waiting to be processed or being processed`, "delivery_in_progress");
}

export { APP_RECEIVER };
