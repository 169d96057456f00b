import { EntitySchema } from "typeorm";
import { createdAt, timestamp, updatedAt, uuidPrimary } from "./columns.js";
import { references } from "./constraints.js";

export interface WebhookConfig {
  auto_assign?: boolean;
  [key: string]: unknown;
}

export interface Webhook {
  id: string;
  org_id: string;
  team_id: string | null;
  /** Set for the webhook row of a GitHub App installation (provider github_app). */
  installation_id: string | null;
  name: string;
  provider: string;
  events: string[];
  config: WebhookConfig;
  active: boolean;
  /** Null for an installation's row: the App's own secret signs its deliveries. */
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const WebhookEntity = new EntitySchema<Webhook>({
  name: "Webhook",
  tableName: "webhooks",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    team_id: { type: "uuid", nullable: true },
    installation_id: { type: "uuid", nullable: true, unique: true },
    name: { type: "text" },
    provider: { type: "text" },
    events: { type: "text", array: true },
    config: { type: "jsonb", default: {} },
    active: { type: "boolean", default: true },
    secret: { type: "text", nullable: true },
    previous_secret: { type: "text", nullable: true },
    previous_secret_expires_at: { ...timestamp, nullable: true },
    deleted_at: { ...timestamp, nullable: true },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  indices: [{ name: "webhooks_org_created_idx", columns: ["org_id", "created_at", "id"] }],
  foreignKeys: [references("org_id", "Organization"), references("team_id", "Team"), references("installation_id", "Installation")],
});
