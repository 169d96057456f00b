import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { signAccessToken } from "../access-token.js";
import { ForbiddenError, ServiceUnavailableError } from "../../domain/errors.js";
import { accessToken } from "../responses.js";

const API_KEY_SUBJECT = "api_key:";

/** POST /api/v1/auth/token: an API key buys a short-lived bearer token; a bearer token cannot buy another. */
export async function authRoutes(scope: FastifyInstance, opts: { jwtSecret?: string; jwtTtlSeconds: number }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.post("/api/v1/auth/token", {
    schema: { tags: ["auth"], summary: "Trade an API key (X-API-Key) for a short-lived bearer token", response: { 200: accessToken } },
  }, async (request, reply) => {
    const { orgId, role, subject } = request.principal;
    if (!subject.startsWith(API_KEY_SUBJECT)) {
      throw new ForbiddenError("only an X-API-Key can be traded for a token; a bearer token cannot mint another", "api_key_required");
    }
    if (!opts.jwtSecret) {
      throw new ServiceUnavailableError("bearer tokens are not enabled on this server: set JWT_SECRET and restart", "jwt_not_configured");
    }
    const { token, expiresAt } = await signAccessToken(
      opts.jwtSecret,
      { keyId: subject.slice(API_KEY_SUBJECT.length), orgId, role },
      opts.jwtTtlSeconds,
    );
    return reply.header("cache-control", "no-store").send({ token, expires_at: expiresAt.toISOString() });
  });
}
