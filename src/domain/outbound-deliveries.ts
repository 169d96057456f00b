import { randomUUID } from "node:crypto";
import { DataSource, type EntityManager } from "typeorm";
import { v7 as uuid7 } from "uuid";
import { deferredWrites } from "../db/deferred-writes.js";
import type { OutboundDelivery, OutboundDeliveryStatus } from "../db/entities/outbound-delivery.js";
import type { OutboundWebhook } from "../db/entities/outbound-webhook.js";
import type { Task } from "../db/entities/task.js";
import { sql, write, type Queryable } from "../db/sql.js";
import { retryDelayMs } from "./outbound-retry-schedule.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { notificationBody, wantsEvent, type Notification, type OutboundEvent } from "./outbound-events.js";
import { scheduleJob } from "./outbox.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

export const INACTIVE = "the outbound webhook is inactive";
export const DELETED = "the outbound webhook was deleted";

/** The job id of one attempt: a new id for every attempt, so each is queued even while an earlier job is kept. */
export function attemptJobId(deliveryId: string, series: number, attempt: number): string {
  return `outbound-${deliveryId}-${series}-${attempt}`;
}

async function addDelivery(
  db: Queryable,
  input: { webhookId: string; orgId: string; taskId: number | null; teamId: string | null; event: OutboundEvent; data: Record<string, unknown>; at: Date },
): Promise<void> {
  const id = uuid7();
  const body = notificationBody({ event: input.event, taskId: input.taskId, teamId: input.teamId, timestamp: input.at, data: input.data });
  await write(
    db,
    // clock_timestamp, not the transaction's start: a task's notifications list in the order they were made.
    `INSERT INTO outbound_deliveries (id, outbound_webhook_id, org_id, task_id, event, body, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), clock_timestamp())`,
    [id, input.webhookId, input.orgId, input.taskId, input.event, body],
  );
  await scheduleJob(db, "outbound", { deliveryId: id, series: 0, attempt: 1 }, { jobId: attemptJobId(id, 0, 1) });
}

/** The subscriptions a task's change may go to, as an SQL select over task `$2`: its organization's active ones, its team's or all teams'. */
export const TASK_SUBSCRIBERS = `
  SELECT s.id, s.events, t.team_id
    FROM tasks t
    JOIN outbound_webhooks s ON s.org_id = t.org_id AND s.active AND s.deleted_at IS NULL
                           AND (s.team_id IS NULL OR s.team_id = t.team_id)
   WHERE t.id = $2
   ORDER BY s.created_at, s.id`;

export type TaskSubscriber = Pick<OutboundWebhook, "id" | "events"> & Pick<Task, "team_id">;

/** Each organization's active subscriptions, read once per transaction that defers writes (a batch of deliveries). */
const subscriptionsRead = new WeakMap<EntityManager, Map<string, Promise<Pick<OutboundWebhook, "id" | "events" | "team_id">[]>>>();

/**
 * The subscriptions a change of `task` may go to, as TASK_SUBSCRIBERS finds them, from the organization's list that a
 * batch reads once; undefined outside a batch, where TASK_SUBSCRIBERS is read with the event's own INSERT.
 */
export function batchSubscribers(db: Queryable, task: Pick<Task, "org_id" | "team_id">): Promise<TaskSubscriber[]> | undefined {
  if (db instanceof DataSource || !deferredWrites(db)) return undefined;
  let byOrg = subscriptionsRead.get(db);
  if (!byOrg) subscriptionsRead.set(db, (byOrg = new Map()));
  let read = byOrg.get(task.org_id);
  if (!read) {
    read = sql<Pick<OutboundWebhook, "id" | "events" | "team_id">>(
      db,
      "SELECT id, events, team_id FROM outbound_webhooks WHERE org_id = $1 AND active AND deleted_at IS NULL ORDER BY created_at, id",
      [task.org_id],
    ).then((result) => result.rows);
    byOrg.set(task.org_id, read);
  }
  return read.then((all) => all
    .filter((s) => s.team_id === null || s.team_id === task.team_id)
    .map((s) => ({ id: s.id, events: s.events, team_id: task.team_id })));
}

/**
 * Part of every task change (called by recordTaskEvent, in its transaction, with the rows of TASK_SUBSCRIBERS):
 * one delivery per subscription that wants a notification the change makes, each sent by an "outbound" job
 * once the transaction commits.
 */
export async function fanOutTaskEvent(
  db: Queryable,
  task: Pick<Task, "id" | "org_id">,
  notifications: readonly Notification[],
  subscribers: readonly TaskSubscriber[],
): Promise<void> {
  const at = new Date();
  for (const notification of notifications) {
    for (const subscriber of subscribers) {
      if (!wantsEvent(subscriber.events, notification.event)) continue;
      await addDelivery(db, {
        webhookId: subscriber.id, orgId: task.org_id, taskId: task.id, teamId: subscriber.team_id, at, ...notification,
      });
    }
  }
}

/** Tells the organization's other active subscriptions that ask for it that `disabled` was turned off. */
async function notifyDeliveryFailed(manager: EntityManager, disabled: OutboundWebhook, last: { code: number | null; error: string | null }): Promise<void> {
  const subscribers = await sql<{ id: string }>(
    manager,
    `SELECT id FROM outbound_webhooks
      WHERE org_id = $1 AND id <> $2 AND active AND deleted_at IS NULL AND ('*' = ANY(events) OR 'delivery.failed' = ANY(events))
      ORDER BY created_at, id`,
    [disabled.org_id, disabled.id],
  );
  const data = {
    outbound_webhook_id: disabled.id,
    url: disabled.url,
    failing_since: disabled.failing_since?.toISOString() ?? null,
    disabled_at: disabled.disabled_at?.toISOString() ?? null,
    last_response_code: last.code,
    last_error: last.error,
  };
  const at = new Date();
  for (const subscriber of subscribers.rows) {
    await addDelivery(manager, {
      webhookId: subscriber.id, orgId: disabled.org_id, taskId: null, teamId: disabled.team_id, event: "delivery.failed", data, at,
    });
  }
}

/**
 * Ends the deliveries of a subscription that was turned off or deleted and that are waiting for an attempt;
 * one in flight ends when its attempt does, at its next claim.
 */
export async function abandonWaitingDeliveries(db: Queryable, webhookId: string, reason: string): Promise<void> {
  await sql(
    db,
    `UPDATE outbound_deliveries
        SET status = 'dead', last_error = concat_ws('; ', last_error, $2::text), next_attempt_at = NULL, updated_at = now()
      WHERE outbound_webhook_id = $1 AND status IN ('pending', 'failed') AND lease_id IS NULL`,
    [webhookId, reason],
  );
}

/** Queues the first delivery of (subscription, task) still to send, unless it is being sent right now. */
async function sendNextInLine(manager: EntityManager, webhookId: string, taskId: number | null): Promise<void> {
  if (taskId === null) return;
  const next = (await sql<Pick<OutboundDelivery, "id" | "redeliveries" | "attempts" | "lease_id"> & { wait_ms: number }>(
    manager,
    `SELECT id, redeliveries, attempts, lease_id,
            GREATEST(0, CEIL(EXTRACT(EPOCH FROM (next_attempt_at - clock_timestamp())) * 1000))::integer AS wait_ms
       FROM outbound_deliveries
      WHERE outbound_webhook_id = $1 AND task_id = $2 AND status IN ('pending', 'failed')
      ORDER BY seq LIMIT 1`,
    [webhookId, taskId],
  )).rows[0];
  if (!next || next.lease_id) return;
  // Its own job may be queued too; whichever comes second finds the attempt taken and does nothing.
  await scheduleJob(manager, "outbound", { deliveryId: next.id, series: next.redeliveries, attempt: next.attempts + 1 }, { delayMs: next.wait_ms ?? 0 });
}

/** What an outbound job is to do. */
export type Claim =
  | { kind: "send"; delivery: OutboundDelivery; webhook: OutboundWebhook; leaseId: string }
  /** The same attempt is being made by another worker: look again after this long. */
  | { kind: "busy"; retryInMs: number }
  /** Nothing: already done, superseded, or waiting for an earlier notification of its task. */
  | { kind: "skip"; reason: string };

/**
 * Takes attempt `attempt` of series `series` of a delivery, holding it for leaseMs. A delivery waits while an
 * earlier one of its (subscription, task) is not delivered or dead; that one queues it when it ends.
 */
export async function claimAttempt(
  db: DataSource,
  job: { deliveryId: string; series: number; attempt: number },
  leaseMs: number,
): Promise<Claim> {
  return db.transaction(async (manager) => {
    const delivery = (await sql<OutboundDelivery & { lease_left_ms: number | null }>(
      manager,
      `SELECT *, CEIL(EXTRACT(EPOCH FROM (lease_expires_at - clock_timestamp())) * 1000)::integer AS lease_left_ms
         FROM outbound_deliveries WHERE id = $1 FOR UPDATE`,
      [job.deliveryId],
    )).rows[0];
    if (!delivery) return { kind: "skip", reason: "no such delivery" };
    if (delivery.redeliveries !== job.series) return { kind: "skip", reason: "an earlier series" };
    if (delivery.status === "delivered" || delivery.status === "dead") return { kind: "skip", reason: `already ${delivery.status}` };
    if (delivery.lease_id) {
      if (delivery.attempts !== job.attempt) return { kind: "skip", reason: "another attempt holds it" };
      if (delivery.lease_left_ms !== null && delivery.lease_left_ms > 0) return { kind: "busy", retryInMs: delivery.lease_left_ms };
      // The worker that took this attempt stopped before recording it: make it again.
    } else {
      if (delivery.attempts !== job.attempt - 1) return { kind: "skip", reason: "attempt already made" };
      if (delivery.task_id !== null) {
        // Locks what it waits for: an earlier delivery ending right now is seen ended, or queues this one after.
        const earlier = await sql(
          manager,
          `SELECT id FROM outbound_deliveries
            WHERE outbound_webhook_id = $1 AND task_id = $2 AND seq < $3 AND status IN ('pending', 'failed')
            ORDER BY seq LIMIT 1 FOR UPDATE`,
          [delivery.outbound_webhook_id, delivery.task_id, delivery.seq],
        );
        if (earlier.rows.length > 0) return { kind: "skip", reason: "waiting for an earlier notification of the task" };
      }
    }
    const webhook = (await sql<OutboundWebhook>(manager, "SELECT * FROM outbound_webhooks WHERE id = $1", [delivery.outbound_webhook_id])).rows[0]!;
    if (!webhook.active || webhook.deleted_at) {
      await sql(
        manager,
        `UPDATE outbound_deliveries
            SET status = 'dead', last_error = concat_ws('; ', last_error, $2::text), next_attempt_at = NULL,
                lease_id = NULL, lease_expires_at = NULL, updated_at = now()
          WHERE id = $1`,
        [delivery.id, webhook.deleted_at ? DELETED : INACTIVE],
      );
      await sendNextInLine(manager, delivery.outbound_webhook_id, delivery.task_id);
      return { kind: "skip", reason: "the outbound webhook is inactive" };
    }
    const leaseId = randomUUID();
    const taken = (await sql<OutboundDelivery>(
      manager,
      `UPDATE outbound_deliveries
          SET attempts = $2, lease_id = $3, lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond',
              next_attempt_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [delivery.id, job.attempt, leaseId, leaseMs],
    )).rows[0]!;
    return { kind: "send", delivery: taken, webhook, leaseId };
  });
}

export interface AttemptOutcome {
  ok: boolean;
  responseCode?: number;
  error?: string;
}

export interface RecordedAttempt {
  status: OutboundDeliveryStatus;
  nextAttemptAt: Date | null;
  /** True when this failure turned the subscription off. */
  disabled: boolean;
}

/**
 * Records how an attempt went, if this worker still holds it: delivered; failed with the next attempt
 * queued after the backoff; or dead after the last one. A failure that extends the subscription's failure
 * streak past disableAfterMs turns it off and sends delivery.failed to the organization's other subscriptions.
 */
export async function recordAttempt(
  db: DataSource,
  claim: { delivery: OutboundDelivery; leaseId: string },
  outcome: AttemptOutcome,
  policy: { firstDelayMs: number; disableAfterMs: number },
): Promise<RecordedAttempt | undefined> {
  return db.transaction(async (manager) => {
    const { delivery, leaseId } = claim;
    const held = await sql(manager, "SELECT 1 FROM outbound_deliveries WHERE id = $1 AND lease_id = $2 FOR UPDATE", [delivery.id, leaseId]);
    if (held.rows.length === 0) return undefined;
    const code = outcome.responseCode ?? null;
    if (outcome.ok) {
      await sql(
        manager,
        `UPDATE outbound_deliveries
            SET status = 'delivered', last_response_code = $2, last_error = NULL, next_attempt_at = NULL, delivered_at = now(),
                lease_id = NULL, lease_expires_at = NULL, updated_at = now()
          WHERE id = $1`,
        [delivery.id, code],
      );
      await sql(manager, "UPDATE outbound_webhooks SET last_success_at = now(), failing_since = NULL WHERE id = $1", [delivery.outbound_webhook_id]);
      await sendNextInLine(manager, delivery.outbound_webhook_id, delivery.task_id);
      return { status: "delivered", nextAttemptAt: null, disabled: false };
    }

    const error = outcome.error ?? "failed";
    const delayMs = retryDelayMs(delivery.attempts, policy.firstDelayMs);
    const updated = (await sql<Pick<OutboundDelivery, "status" | "next_attempt_at">>(
      manager,
      `UPDATE outbound_deliveries
          SET status = $2, last_response_code = $3, last_error = $4,
              next_attempt_at = CASE WHEN $5::integer IS NULL THEN NULL ELSE clock_timestamp() + $5::integer * interval '1 millisecond' END,
              lease_id = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING status, next_attempt_at`,
      [delivery.id, delayMs === undefined ? "dead" : "failed", code, error, delayMs ?? null],
    )).rows[0]!;
    if (delayMs === undefined) {
      await sendNextInLine(manager, delivery.outbound_webhook_id, delivery.task_id);
    } else {
      await scheduleJob(manager, "outbound", { deliveryId: delivery.id, series: delivery.redeliveries, attempt: delivery.attempts + 1 }, {
        jobId: attemptJobId(delivery.id, delivery.redeliveries, delivery.attempts + 1),
        delayMs,
      });
    }
    await sql(manager, "UPDATE outbound_webhooks SET failing_since = COALESCE(failing_since, now()) WHERE id = $1", [delivery.outbound_webhook_id]);
    const disabled = (await sql<OutboundWebhook>(
      manager,
      `UPDATE outbound_webhooks
          SET active = false, disabled_at = now(), updated_at = now(),
              disabled_reason = 'failing since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' with no successful delivery'
        WHERE id = $1 AND active AND deleted_at IS NULL AND failing_since <= now() - $2::bigint * interval '1 millisecond'
        RETURNING *`,
      [delivery.outbound_webhook_id, policy.disableAfterMs],
    )).rows[0];
    if (disabled) {
      await abandonWaitingDeliveries(manager, disabled.id, INACTIVE);
      await notifyDeliveryFailed(manager, disabled, { code, error });
    }
    return { status: updated.status, nextAttemptAt: updated.next_attempt_at, disabled: disabled !== undefined };
  });
}

/** A delivery as the log lists it: everything but its body and the worker's lease. */
export type OutboundDeliveryListItem = Omit<OutboundDelivery, "body" | "seq" | "org_id" | "lease_id" | "lease_expires_at">;

const LIST_COLUMNS =
  "id, outbound_webhook_id, event, task_id, status, attempts, redeliveries, last_response_code, last_error, next_attempt_at, delivered_at, created_at, updated_at";

export async function listOutboundDeliveries(
  db: Queryable,
  orgId: string,
  webhookId: string,
  filters: { status?: OutboundDeliveryStatus; event?: string; task_id?: number },
  page: PageRequest,
): Promise<Page<OutboundDeliveryListItem>> {
  const where = ["org_id = $1", "outbound_webhook_id = $2"];
  const params: unknown[] = [orgId, webhookId];
  const add = (column: string, value: unknown) => {
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  if (filters.status) add("status", filters.status);
  if (filters.event) add("event", filters.event);
  if (filters.task_id !== undefined) add("task_id", filters.task_id);
  const query = pageQuery({ select: `SELECT ${LIST_COLUMNS} FROM outbound_deliveries`, where, params }, page, "uuid");
  const result = await sql<OutboundDeliveryListItem>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}

export type OutboundDeliveryDetail = OutboundDeliveryListItem & { payload: unknown };

export async function getOutboundDelivery(db: Queryable, orgId: string, webhookId: string, id: string): Promise<OutboundDeliveryDetail> {
  const result = await sql<OutboundDeliveryListItem & { body: string }>(
    db,
    `SELECT ${LIST_COLUMNS}, body FROM outbound_deliveries WHERE id = $1 AND org_id = $2 AND outbound_webhook_id = $3`,
    [id, orgId, webhookId],
  );
  const row = result.rows[0];
  if (!row) throw new NotFoundError(`delivery ${id}`);
  const { body, ...item } = row;
  return { ...item, payload: JSON.parse(body) as unknown };
}

/**
 * Sends a delivery again, the same body under the same delivery id, as a new series of attempts; it takes
 * its place after the task's other notifications still to send. Refused while an attempt is in flight.
 */
export async function redeliverOutbound(db: DataSource, orgId: string, webhookId: string, id: string): Promise<OutboundDeliveryListItem> {
  return db.transaction(async (manager) => {
    const delivery = (await sql<OutboundDelivery & { in_flight: boolean }>(
      manager,
      `SELECT d.*, (d.lease_id IS NOT NULL AND d.lease_expires_at > clock_timestamp()) AS in_flight
         FROM outbound_deliveries d WHERE d.id = $1 AND d.org_id = $2 AND d.outbound_webhook_id = $3 FOR UPDATE`,
      [id, orgId, webhookId],
    )).rows[0];
    if (!delivery) throw new NotFoundError(`delivery ${id}`);
    const webhook = (await sql<OutboundWebhook>(manager, "SELECT * FROM outbound_webhooks WHERE id = $1", [webhookId])).rows[0]!;
    if (!webhook.active || webhook.deleted_at) {
      throw new ConflictError(`outbound webhook ${webhookId} is not active; turn it on before redelivering`, "outbound_webhook_inactive");
    }
    if (delivery.in_flight) throw new ConflictError(`delivery ${id} is being sent right now`, "delivery_in_progress");
    const reset = (await sql<OutboundDeliveryListItem>(
      manager,
      `UPDATE outbound_deliveries
          SET status = 'pending', attempts = 0, redeliveries = redeliveries + 1, seq = DEFAULT,
              last_response_code = NULL, last_error = NULL, next_attempt_at = NULL, delivered_at = NULL,
              lease_id = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING ${LIST_COLUMNS}`,
      [delivery.id],
    )).rows[0]!;
    await sendNextInLine(manager, webhookId, delivery.task_id);
    if (delivery.task_id === null) {
      await scheduleJob(manager, "outbound", { deliveryId: reset.id, series: reset.redeliveries, attempt: 1 }, {
        jobId: attemptJobId(reset.id, reset.redeliveries, 1),
      });
    }
    return reset;
  });
}
