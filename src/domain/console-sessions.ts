import { createHash, randomBytes } from "node:crypto";
import type { ConsoleSession } from "../db/entities/console-session.js";
import { sql, type Queryable } from "../db/sql.js";
import { authenticateApiKey } from "./api-keys.js";
import { ForbiddenError, UnauthorizedError } from "./errors.js";

/** How long a console sign-in lasts. */
export const CONSOLE_SESSION_TTL_MS = 12 * 3600 * 1000;

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface OpenedConsoleSession {
  /** Goes in the cookie; only its hash is stored. */
  token: string;
  session: ConsoleSession;
}

/** Exchanges an admin API key for a session; an agent key or an unknown key opens none. */
export async function openConsoleSession(db: Queryable, key: string, ttlMs = CONSOLE_SESSION_TTL_MS): Promise<OpenedConsoleSession> {
  const record = await authenticateApiKey(db, key.trim());
  if (!record) throw new UnauthorizedError("the API key is not valid (revoked or mistyped)");
  if (record.role !== "admin") throw new ForbiddenError("an agent key cannot sign in to the console: use an admin key", "agent_key_refused");
  // Sessions that ended are removed as new ones open, so the table holds only live ones.
  await sql(db, "DELETE FROM console_sessions WHERE expires_at < now()");
  const token = randomBytes(32).toString("base64url");
  const result = await sql<ConsoleSession>(
    db,
    `INSERT INTO console_sessions (token_hash, csrf_token, org_id, api_key_id, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING *`,
    [tokenHash(token), randomBytes(32).toString("base64url"), record.org_id, record.id, ttlMs / 1000],
  );
  return { token, session: result.rows[0]! };
}

/** The live session the token opens: not expired, signed in with a key still valid. */
export async function findConsoleSession(db: Queryable, token: string): Promise<ConsoleSession | undefined> {
  const result = await sql<ConsoleSession>(
    db,
    `SELECT s.* FROM console_sessions s JOIN api_keys k ON k.id = s.api_key_id
      WHERE s.token_hash = $1 AND s.expires_at > now() AND k.revoked_at IS NULL`,
    [tokenHash(token)],
  );
  return result.rows[0];
}

/** Ends the session on the server: its cookie opens nothing afterwards. */
export async function closeConsoleSession(db: Queryable, token: string): Promise<void> {
  await sql(db, "DELETE FROM console_sessions WHERE token_hash = $1", [tokenHash(token)]);
}
