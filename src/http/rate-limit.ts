import { createHash } from "node:crypto";
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { RateLimitedError } from "../domain/errors.js";
import { createRedisClient, type RedisClient } from "../queue/redis-client.js";
import { redisReady } from "../queue/redis-ready.js";

export interface RateLimitOptions {
  /** Requests one API key (or, without a proven one, one client address) may make per window. */
  max: number;
  windowMs: number;
  /** Shared counters across web processes; in-process counters without it. */
  redisUrl?: string;
  prefix: string;
}

/** The two onRequest hooks to place around authentication, and the Redis connection to close with the server. */
export interface RateLimiter {
  beforeAuthentication: onRequestAsyncHookHandler;
  afterAuthentication: onRequestAsyncHookHandler;
  redis?: RedisClient;
}

// Enough for every key and live token of a deployment; past it the oldest is forgotten and counted by address once more.
const PROVEN_CREDENTIALS = 10_000;

function credentialHash(request: FastifyRequest): string | undefined {
  const credential = request.headers["x-api-key"] || request.headers.authorization;
  if (typeof credential !== "string" || credential.length === 0) return undefined;
  return createHash("sha256").update(credential).digest("hex").slice(0, 32);
}

/**
 * 429 with Retry-After past the limit, for the routes of `scope`; a Redis outage lets requests through rather than
 * failing them. A credential is counted on its own only once it has authenticated here: before that the client address
 * is counted, so a client guessing a new key each request runs into the limit of its address.
 */
export async function limitRate(scope: FastifyInstance, options: RateLimitOptions): Promise<RateLimiter> {
  const redis = options.redisUrl
    ? createRedisClient(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 })
    : undefined;
  redis?.on("error", () => undefined);
  // Commands are not queued while connecting (a Redis outage must not hold requests): wait for the connection once.
  if (redis) await redisReady(redis, 2000);
  // Hashes of credentials that authenticated, oldest first; never the credential itself.
  const proven = new Map<string, true>();
  const rateKey = (request: FastifyRequest): string => {
    const hash = credentialHash(request);
    return hash && proven.has(hash) ? `key:${hash}` : `ip:${request.ip}`;
  };
  await scope.register(fastifyRateLimit, {
    // Counted by the two hooks returned below, which the server places around authentication.
    global: false,
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: rateKey,
    redis,
    nameSpace: `${options.prefix}:rate:`,
    skipOnError: true,
  });
  const count = scope.createRateLimit();
  const enforce = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const limit = await count(request);
    if (limit.isAllowed) return;
    void reply.header("x-ratelimit-limit", limit.max).header("x-ratelimit-remaining", limit.remaining).header("x-ratelimit-reset", limit.ttlInSeconds);
    if (!limit.isExceeded) return;
    throw new RateLimitedError(
      `rate limit of ${limit.max} requests per ${Math.round(options.windowMs / 1000)} s exceeded; retry in ${limit.ttlInSeconds} s`,
      limit.ttlInSeconds,
    );
  };
  return {
    redis,
    beforeAuthentication: enforce,
    async afterAuthentication(request, reply) {
      const hash = credentialHash(request);
      if (!hash) return;
      const known = proven.delete(hash);
      proven.set(hash, true);
      if (proven.size > PROVEN_CREDENTIALS) proven.delete(proven.keys().next().value!);
      // The first request of a credential was counted by address; count it for the credential as well.
      if (!known) await enforce(request, reply);
    },
  };
}
