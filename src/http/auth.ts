import type { FastifyInstance, FastifyRequest } from "fastify";
import { errors as joseErrors, jwtVerify } from "jose";
import type { DataSource } from "typeorm";
import type { ApiKeyRole } from "../db/entities/api-key.js";
import { API_KEY_PREFIX, authenticateApiKey } from "../domain/api-keys.js";
import { ForbiddenError, UnauthorizedError } from "../domain/errors.js";
import type { Actor } from "../domain/task-events.js";

/** Who is calling: everything they reach is scoped to orgId. */
export interface Principal {
  orgId: string;
  role: ApiKeyRole;
  /** api_key:<id> or jwt:<sub> */
  subject: string;
  /** Set for an agent key: the caller acts as this agent, on its team's tasks only. */
  agentId?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface AuthOptions {
  db: DataSource;
  jwtSecret?: string;
}

const ROLES: readonly ApiKeyRole[] = ["admin", "agent"];

async function fromJwt(token: string, secret: string): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"], requiredClaims: ["sub", "exp"] });
    const orgId = payload.org_id;
    const role = payload.role as ApiKeyRole;
    if (payload.typ === "refresh" || payload.token_type === "refresh") throw new UnauthorizedError("refresh tokens are not accepted here");
    if (typeof orgId !== "string" || !ROLES.includes(role)) throw new UnauthorizedError("the token lacks org_id or role");
    return { orgId, role, subject: `jwt:${payload.sub}` };
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError("the token has expired");
    throw new UnauthorizedError("the bearer token is not valid");
  }
}

/** An API key sent as a bearer token is refused with how keys are sent, as the caller may be setting one up. */
const BEARER_KEY_NOT_VALID = "the API key is not valid (revoked or mistyped); send it as X-API-Key: oc_… or Authorization: Bearer oc_…";
const NOT_A_JWT = "the bearer token is neither a JWT nor an API key (oc_…); send an API key as X-API-Key: oc_…";
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

async function fromApiKey(db: DataSource, key: string, notValid = "the API key is not valid"): Promise<Principal> {
  const record = await authenticateApiKey(db, key);
  if (!record) throw new UnauthorizedError(notValid);
  const principal: Principal = { orgId: record.org_id, role: record.role, subject: `api_key:${record.id}` };
  if (record.agent_id) principal.agentId = record.agent_id;
  return principal;
}

/** Resolves the caller from X-API-Key or Authorization: Bearer (a JWT, or an API key); throws 401 otherwise. */
export async function authenticate(request: FastifyRequest, options: AuthOptions): Promise<Principal> {
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey.length > 0) return fromApiKey(options.db, apiKey);
  const authorization = request.headers.authorization;
  if (typeof authorization === "string" && /^Bearer\s+\S+$/i.test(authorization)) {
    const token = authorization.replace(/^Bearer\s+/i, "");
    // Coding agents send their key as a bearer token; API keys and JWTs never look alike.
    if (token.startsWith(API_KEY_PREFIX)) return fromApiKey(options.db, token, BEARER_KEY_NOT_VALID);
    if (!JWT_SHAPE.test(token)) throw new UnauthorizedError(NOT_A_JWT);
    if (!options.jwtSecret) throw new UnauthorizedError("bearer tokens are not enabled on this server (JWT_SECRET unset)");
    return fromJwt(token, options.jwtSecret);
  }
  throw new UnauthorizedError();
}

/** Every route registered inside `scope` requires a principal. */
export function requirePrincipal(scope: FastifyInstance, options: AuthOptions): void {
  scope.decorateRequest("principal", null as unknown as Principal);
  scope.addHook("onRequest", async (request) => {
    request.principal = await authenticate(request, options);
  });
}

/** The principal as the actor of a task change in the audit trail. */
export function actorOf(principal: Principal): Actor {
  if (principal.agentId) return { type: "agent", id: principal.agentId };
  const [kind, id] = principal.subject.split(/:(.*)/s) as [string, string];
  return { type: kind === "api_key" ? "api_key" : "user", id };
}

/** A preHandler for routes only admins may call; agent credentials get 403. */
export async function adminOnly(request: FastifyRequest): Promise<void> {
  if (request.principal.role !== "admin") throw new ForbiddenError("this route needs an admin key or token");
}
