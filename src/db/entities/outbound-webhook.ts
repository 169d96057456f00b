import { EntitySchema } from "typeorm";
import { createdAt, timestamp, updatedAt, uuidPrimary } from "./columns.js";
import { references } from "./constraints.js";

/** A subscription of an organization's task notifications, signed and sent to `url`. */
export interface OutboundWebhook {
  id: string;
  org_id: string;
  /** Only tasks of this team; null for every team. */
  team_id: string | null;
  url: string;
  /** Outbound event names, or ["*"]. */
  events: string[];
  /** The signing secret (`whsec_…`); null once the subscription is deleted. */
  secret: string | null;
  /** The secret before the last regeneration, still signing until previous_secret_expires_at. */
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  /** Sent as X-API-Key; never shown by the API. */
  api_key: string | null;
  active: boolean;
  last_success_at: Date | null;
  /** The first failed attempt since the last success; null while deliveries succeed. */
  failing_since: Date | null;
  /** Set when repeated failures turned the subscription off. */
  disabled_at: Date | null;
  disabled_reason: string | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const OutboundWebhookEntity = new EntitySchema<OutboundWebhook>({
  name: "OutboundWebhook",
  tableName: "outbound_webhooks",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    team_id: { type: "uuid", nullable: true },
    url: { type: "text" },
    events: { type: "text", array: true },
    secret: { type: "text", nullable: true },
    previous_secret: { type: "text", nullable: true },
    previous_secret_expires_at: { ...timestamp, nullable: true },
    api_key: { type: "text", nullable: true },
    active: { type: "boolean", default: true },
    last_success_at: { ...timestamp, nullable: true },
    failing_since: { ...timestamp, nullable: true },
    disabled_at: { ...timestamp, nullable: true },
    disabled_reason: { type: "text", nullable: true },
    deleted_at: { ...timestamp, nullable: true },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  indices: [
    { name: "outbound_webhooks_org_created_idx", columns: ["org_id", "created_at", "id"] },
    // Every task change looks up the organization's active subscriptions.
    { name: "outbound_webhooks_org_active_idx", columns: ["org_id"], where: "active AND deleted_at IS NULL" },
  ],
  foreignKeys: [references("org_id", "Organization"), references("team_id", "Team")],
});
