import { createHash, randomBytes } from "node:crypto";
import type { ApiKey, ApiKeyRole } from "../db/entities/api-key.js";
import { sql, type Queryable } from "../db/sql.js";
import { getAgent } from "./agents.js";
import { NotFoundError } from "./errors.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

export const API_KEY_PREFIX = "oc_";

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** An API key as the API lists it: never its hash. */
export type ApiKeyView = Omit<ApiKey, "key_hash">;
const VIEW_COLUMNS = "id, org_id, name, role, agent_id, key_prefix, last_used_at, revoked_at, created_at";

export interface CreatedApiKey {
  record: ApiKeyView;
  /** Shown once; only its hash is stored. */
  key: string;
}

export async function createApiKey(
  db: Queryable,
  input: { orgId: string; name?: string; role?: ApiKeyRole; agentId?: string },
): Promise<CreatedApiKey> {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  const result = await sql<ApiKeyView>(
    db,
    `INSERT INTO api_keys (org_id, name, role, key_hash, key_prefix, agent_id) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${VIEW_COLUMNS}`,
    [input.orgId, input.name ?? "default", input.agentId ? "agent" : input.role ?? "admin", hashApiKey(key), key.slice(0, 10), input.agentId ?? null],
  );
  return { record: result.rows[0]!, key };
}

/** A key that acts as one agent of the organization: its team's tasks, no admin routes. */
export async function createAgentKey(db: Queryable, orgId: string, agentId: string): Promise<CreatedApiKey> {
  const agent = await getAgent(db, orgId, agentId);
  return createApiKey(db, { orgId, name: `agent:${agent.name}`, agentId: agent.id });
}

/** The key's record when it is valid and not revoked; marks it used (at most once a minute). */
export async function authenticateApiKey(db: Queryable, key: string): Promise<ApiKey | undefined> {
  if (!key.startsWith(API_KEY_PREFIX)) return undefined;
  const result = await sql<ApiKey>(db, "SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", [hashApiKey(key)]);
  const record = result.rows[0];
  if (!record) return undefined;
  if (!record.last_used_at || Date.now() - record.last_used_at.getTime() > 60_000) {
    await sql(db, "UPDATE api_keys SET last_used_at = now() WHERE id = $1", [record.id]);
  }
  return record;
}

export async function listApiKeys(db: Queryable, orgId: string, page: PageRequest): Promise<Page<ApiKeyView>> {
  const query = pageQuery(
    {
      select: `SELECT ${VIEW_COLUMNS} FROM api_keys`,
      where: ["org_id = $1"],
      params: [orgId],
    },
    page,
    "uuid",
  );
  const result = await sql<ApiKeyView>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}

/** Revokes the key at once; revoking it again keeps the first revoked_at. */
export async function revokeApiKey(db: Queryable, orgId: string, id: string): Promise<ApiKeyView> {
  const result = await sql<ApiKeyView>(
    db,
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND org_id = $2
     RETURNING ${VIEW_COLUMNS}`,
    [id, orgId],
  );
  if (!result.rows[0]) throw new NotFoundError(`API key ${id}`);
  return result.rows[0];
}
