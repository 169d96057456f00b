import { EntitySchema } from "typeorm";
import { createdAt, timestamp, uuidPrimary } from "./columns.js";
import { references } from "./constraints.js";

/** A signed-in admin of the console; kept in the database so that every web process knows it. */
export interface ConsoleSession {
  id: string;
  /** SHA-256 of the cookie's token: a copy of the table opens no session. */
  token_hash: string;
  /** Sent back with every form; a page of another site cannot read it. */
  csrf_token: string;
  org_id: string;
  /** The admin key that signed in: revoking it ends the session. */
  api_key_id: string;
  expires_at: Date;
  created_at: Date;
}

export const ConsoleSessionEntity = new EntitySchema<ConsoleSession>({
  name: "ConsoleSession",
  tableName: "console_sessions",
  columns: {
    id: uuidPrimary,
    token_hash: { type: "text", unique: true },
    csrf_token: { type: "text" },
    org_id: { type: "uuid" },
    api_key_id: { type: "uuid" },
    expires_at: timestamp,
    created_at: createdAt,
  },
  indices: [{ name: "console_sessions_expires_idx", columns: ["expires_at"] }],
  foreignKeys: [references("org_id", "Organization"), references("api_key_id", "ApiKey")],
});
