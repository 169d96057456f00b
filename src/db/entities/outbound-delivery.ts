import { EntitySchema } from "typeorm";
import { createdAt, timestamp, updatedAt } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const OUTBOUND_DELIVERY_STATUSES = ["pending", "delivered", "failed", "dead"] as const;
export type OutboundDeliveryStatus = (typeof OUTBOUND_DELIVERY_STATUSES)[number];

/**
 * One notification to one subscription, and how its attempts went. Its id is the X-Entourage-Delivery and
 * webhook-id header of every attempt, redeliveries included.
 */
export interface OutboundDelivery {
  id: string;
  /** Send order of the deliveries of one (subscription, task). */
  seq: number;
  outbound_webhook_id: string;
  org_id: string;
  /** Null for a notification about no task (delivery.failed). */
  task_id: number | null;
  event: string;
  /** The exact JSON body every attempt sends and signs. */
  body: string;
  /** pending: not tried yet or waiting for an earlier one; failed: retrying; delivered and dead are final. */
  status: OutboundDeliveryStatus;
  /** Attempts of the current series. */
  attempts: number;
  /** Series started again by redeliver; names each attempt's job with `attempts`. */
  redeliveries: number;
  last_response_code: number | null;
  last_error: string | null;
  /** When the next attempt is due while a retry waits; null once final, and while an attempt is in flight. */
  next_attempt_at: Date | null;
  /** Held by the worker making an attempt, until lease_expires_at. */
  lease_id: string | null;
  lease_expires_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const OutboundDeliveryEntity = new EntitySchema<OutboundDelivery>({
  name: "OutboundDelivery",
  tableName: "outbound_deliveries",
  columns: {
    // Made by the sender (UUIDv7), not by the database.
    id: { type: "uuid", primary: true },
    seq: { type: "bigint", generated: "increment" },
    outbound_webhook_id: { type: "uuid" },
    org_id: { type: "uuid" },
    task_id: { type: "integer", nullable: true },
    event: { type: "text" },
    body: { type: "text" },
    status: { type: "text", default: "pending" },
    attempts: { type: "integer", default: 0 },
    redeliveries: { type: "integer", default: 0 },
    last_response_code: { type: "integer", nullable: true },
    last_error: { type: "text", nullable: true },
    next_attempt_at: { ...timestamp, nullable: true },
    lease_id: { type: "uuid", nullable: true },
    lease_expires_at: { ...timestamp, nullable: true },
    delivered_at: { ...timestamp, nullable: true },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  indices: [
    { name: "outbound_deliveries_webhook_idx", columns: ["outbound_webhook_id", "created_at", "id"] },
    // Finds what a task's next notification waits for, and what goes once an earlier one ends.
    { name: "outbound_deliveries_open_idx", columns: ["outbound_webhook_id", "task_id", "seq"], where: "status IN ('pending', 'failed')" },
  ],
  checks: [oneOf("outbound_deliveries", "status", OUTBOUND_DELIVERY_STATUSES)],
  foreignKeys: [references("outbound_webhook_id", "OutboundWebhook"), references("org_id", "Organization"), references("task_id", "Task")],
});
