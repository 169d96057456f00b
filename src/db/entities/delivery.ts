import { EntitySchema } from "typeorm";
import { createdAt, timestamp, uuidPrimary } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const DELIVERY_STATUSES = ["received", "processed", "ignored", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The App endpoint's receiver name; a per-webhook endpoint's receiver is its webhook id. */
export const APP_RECEIVER = "github_app";

export interface Delivery {
  id: string;
  /** The receiving endpoint: github_delivery_id is unique per receiver. */
  receiver: string;
  webhook_id: string | null;
  org_id: string | null;
  github_delivery_id: string;
  /** `issues.opened`, or the bare event name when it has no action. */
  event_type: string;
  action: string | null;
  github_installation_id: number | null;
  payload_summary: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The request's headers as received, without its signatures and credentials. */
  headers: Record<string, string>;
  status: DeliveryStatus;
  action_taken: string | null;
  task_id: number | null;
  error: string | null;
  attempts: number;
  /** How many times an admin sent it back to processing; names each round's job. */
  redeliveries: number;
  created_at: Date;
  processed_at: Date | null;
}

export const DeliveryEntity = new EntitySchema<Delivery>({
  name: "Delivery",
  tableName: "webhook_deliveries",
  columns: {
    id: uuidPrimary,
    receiver: { type: "text" },
    webhook_id: { type: "uuid", nullable: true },
    org_id: { type: "uuid", nullable: true },
    github_delivery_id: { type: "text" },
    event_type: { type: "text" },
    action: { type: "text", nullable: true },
    github_installation_id: { type: "bigint", nullable: true },
    payload_summary: { type: "jsonb", default: {} },
    payload: { type: "jsonb" },
    headers: { type: "jsonb", default: {} },
    status: { type: "text", default: "received" },
    action_taken: { type: "text", nullable: true },
    task_id: { type: "integer", nullable: true },
    error: { type: "text", nullable: true },
    attempts: { type: "integer", default: 0 },
    redeliveries: { type: "integer", default: 0 },
    created_at: createdAt,
    processed_at: { ...timestamp, nullable: true },
  },
  indices: [
    { name: "webhook_deliveries_webhook_idx", columns: ["webhook_id", "created_at", "id"] },
    { name: "webhook_deliveries_received_idx", columns: ["created_at"], where: "status = 'received'" },
    // The console's delivery log of a whole organization (status too, so the overview counts a day from the index alone),
    // and its live feed of deliveries that just ended.
    { name: "webhook_deliveries_org_idx", columns: ["org_id", "created_at", "id", "status"] },
    { name: "webhook_deliveries_processed_idx", columns: ["processed_at"] },
    // The console's filter by repository: on (org_id, payload_summary's repository, created_at, id), an expression
    // TypeORM cannot describe; the ConsoleViews migration made it.
    { name: "webhook_deliveries_repository_idx", columns: ["org_id", "payload_summary"], synchronize: false },
  ],
  uniques: [{ columns: ["receiver", "github_delivery_id"] }],
  checks: [oneOf("webhook_deliveries", "status", DELIVERY_STATUSES)],
  foreignKeys: [references("webhook_id", "Webhook"), references("org_id", "Organization"), references("task_id", "Task")],
});
