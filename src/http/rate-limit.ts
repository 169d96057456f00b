import { createHash } from "node:crypto";
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import { DomainError } from "../domain/errors.js";

/** Past the rate limit: answered 429, with the Retry-After header the plugin sets. */
export class RateLimitedError extends DomainError {
  readonly statusCode = 429;
  constructor(message: string) {
    super("rate_limited", message);
  }
}

export interface RateLimitOptions {
  /** Requests one API key (or, without one, one IP address) may make per window. */
  max: number;
  windowMs: number;
  /** Shared counters across web processes; in-process counters without it. */
  redisUrl?: string;
  prefix: string;
}

/** Limits by credential when the request carries one, else by client address; never stores the credential itself. */
function rateKey(request: FastifyRequest): string {
  const credential = request.headers["x-api-key"] ?? request.headers.authorization;
  if (typeof credential === "string" && credential.length > 0) {
    return `key:${createHash("sha256").update(credential).digest("hex").slice(0, 32)}`;
  }
  return `ip:${request.ip}`;
}

/** 429 with Retry-After past the limit, inside `scope`; a Redis outage lets requests through rather than failing them. */
export async function limitRate(scope: FastifyInstance, options: RateLimitOptions): Promise<Redis | undefined> {
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 })
    : undefined;
  redis?.on("error", () => undefined);
  // Commands are not queued while connecting (a Redis outage must not hold requests): wait for the connection once.
  if (redis) await readyWithin(redis, 2000);
  await scope.register(fastifyRateLimit, {
    // Added below as the scope's first onRequest hook, so it runs before authentication.
    global: false,
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: rateKey,
    redis,
    nameSpace: `${options.prefix}:rate:`,
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError(`rate limit of ${context.max} requests per ${Math.round(options.windowMs / 1000)} s exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`),
  });
  scope.addHook("onRequest", scope.rateLimit());
  return redis;
}

function readyWithin(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      redis.off("error", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
    redis.once("error", done);
  });
}
