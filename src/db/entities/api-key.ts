import { EntitySchema } from "typeorm";
import { createdAt, timestamp, uuidPrimary } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const API_KEY_ROLES = ["admin", "agent"] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** Only the SHA-256 of a key is kept; the key itself is shown once. */
export interface ApiKey {
  id: string;
  org_id: string;
  name: string;
  role: ApiKeyRole;
  /** The agent an agent key acts as; null for keys of the whole organization. */
  agent_id: string | null;
  key_hash: string;
  /** The first characters, to tell keys apart in a list. */
  key_prefix: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

export const ApiKeyEntity = new EntitySchema<ApiKey>({
  name: "ApiKey",
  tableName: "api_keys",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    name: { type: "text" },
    role: { type: "text", default: "admin" },
    key_hash: { type: "text", unique: true },
    key_prefix: { type: "text" },
    last_used_at: { ...timestamp, nullable: true },
    revoked_at: { ...timestamp, nullable: true },
    created_at: createdAt,
    agent_id: { type: "uuid", nullable: true },
  },
  checks: [
    oneOf("api_keys", "role", API_KEY_ROLES),
    { name: "api_keys_agent_role", expression: "agent_id IS NULL OR role = 'agent'" },
  ],
  foreignKeys: [references("org_id", "Organization"), references("agent_id", "Agent")],
});
