import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Metrics } from "../metrics.js";
import type { DeliveryBatcher } from "../ingress/delivery-batcher.js";
import { limitRate, type RateLimiter, type RateLimitOptions } from "./rate-limit.js";
import type { Logger } from "../log.js";
import type { OutboxRelay } from "../queue/outbox-relay.js";
import type { JobQueue } from "../queue/queue.js";
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS } from "./access-token.js";
import { confineAgentKeys } from "./agent-keys.js";
import { requirePrincipal } from "./auth.js";
import { answerClientError, errorBody, handleError } from "./errors.js";
import { logClientError, logRefusals, RefusalLog } from "./refusal-log.js";
import { agentRoutes } from "./routes/agents.js";
import { installationRoutes } from "./routes/installations.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { authRoutes } from "./routes/auth.js";
import { githubAppWebhookRoutes } from "./routes/github-app-webhooks.js";
import { healthRoutes } from "./routes/health.js";
import { orgRoutes } from "./routes/orgs.js";
import { taskRoutes } from "./routes/tasks.js";
import { taskWorkflowRoutes } from "./routes/task-workflow.js";
import { closedSetupRoutes, setupRoutes, type SetupOptions } from "./routes/setup.js";
import { teamRoutes } from "./routes/teams.js";
import { webhookReceiveRoutes } from "./routes/webhook-receive.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { outboundWebhookRoutes } from "./routes/outbound-webhooks.js";
import { urlGuard, type UrlGuard } from "../outbound/url-guard.js";
import { mcpRoutes } from "../mcp/route.js";
import type { OriginPolicy } from "../mcp/request-origin.js";
import { describeApi } from "./openapi.js";
import { runRoutes, type RunRouteOptions } from "./routes/runs.js";
import { consoleRoutes } from "../console/routes.js";
import { LiveFeed } from "../console/live-feed.js";

/** The app's defaults for agent runs, for a server built without a configuration (tests). */
const DEFAULT_RUNS: Omit<RunRouteOptions, "db" | "relay"> = { settings: { heartbeatTimeoutMs: 60_000, maxRuns: 3 }, githubUrl: "https://github.com" };

export interface ServerDeps {
  db: DataSource;
  /** Seals and opens the secrets stored in the database. */
  box: SecretBox;
  metrics: Metrics;
  rateLimit: RateLimitOptions;
  /** Which peers' X-Forwarded-For names the client (TRUST_PROXY); default: none, the peer is the client. */
  trustProxy?: boolean | string[];
  queue: JobQueue;
  relay: OutboxRelay;
  /** Stores the deliveries both webhook endpoints accept, batched under load. */
  deliveries: DeliveryBatcher;
  log: Logger;
  /** Where outbound webhooks may point (OUTBOUND_ALLOWED_HOSTS); default: https on public addresses only. */
  outboundGuard?: UrlGuard;
  /** The GitHub App's webhook secret; unset while the App is not configured. */
  appWebhookSecret?: string;
  jwtSecret?: string;
  /** Lifetime of the tokens POST /api/v1/auth/token issues (default 15 minutes). */
  jwtTtlSeconds?: number;
  /** Serve only health (a worker process). */
  healthOnly?: boolean;
  /** The /setup manifest flow; given only while no GitHub App is configured. */
  setup?: SetupOptions;
  /** Which Host and Origin headers /mcp answers; default: any Host, no browser origin. */
  mcpOrigins?: OriginPolicy;
  /** Agent runs: the app's settings, GitHub's web address, and the App's access to repositories (unset while not configured). */
  runs?: Omit<RunRouteOptions, "db" | "relay">;
}

/** The HTTP server: both webhook endpoints, the REST API, the admin console and health. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const refusals = new RefusalLog(deps.log as FastifyBaseLogger);
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: deps.trustProxy ?? false,
    requestTimeout: 30_000,
    return503OnClosing: true,
    // Malformed requests and router errors answer in the API's JSON error shape too.
    clientErrorHandler: (error, socket) => {
      // Read before the answer destroys the socket.
      const ip = socket.remoteAddress;
      const answer = answerClientError(error, socket);
      if (answer) logClientError(refusals, error, answer, ip);
    },
    frameworkErrors: handleError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  // The API takes JSON only: any other body is a 415, as on the webhook endpoints.
  app.removeContentTypeParser("text/plain");
  // Before any route is registered, so that every route's refusals are logged.
  logRefusals(app, refusals);
  // A keep-alive connection whose request was in flight at close would hold close() for the keep-alive timeout.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody("not_found", `no route for ${request.method} ${request.url.split("?")[0]}`)));

  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.header("content-type", deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  if (deps.healthOnly) {
    await app.register(healthRoutes, { db: deps.db, queue: deps.queue });
    return app;
  }

  // The same zod schemas that validate requests make the OpenAPI document.
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "Entourage API", version: "1", description: "Webhooks, deliveries, teams, agents and tasks of one organization." },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: describeApi,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/api/docs" });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { db: deps.db, queue: deps.queue });

  const ingress = { db: deps.db, deliveries: deps.deliveries, metrics: deps.metrics };
  await app.register(githubAppWebhookRoutes, { deps: ingress, webhookSecret: deps.appWebhookSecret });
  await app.register(webhookReceiveRoutes, { deps: ingress, box: deps.box });
  if (deps.setup) await app.register(setupRoutes, { ...deps.setup, log: deps.log });
  else await app.register(closedSetupRoutes);
  let limiter: RateLimiter | undefined;
  await app.register(async (api) => {
    limiter = await limitRate(api, deps.rateLimit);
    api.addHook("onRequest", limiter.beforeAuthentication);
    requirePrincipal(api, { db: deps.db, jwtSecret: deps.jwtSecret });
    api.addHook("onRequest", limiter.afterAuthentication);
    api.addHook("preHandler", confineAgentKeys(deps.db));
    await api.register(webhookRoutes, { db: deps.db, relay: deps.relay, box: deps.box });
    await api.register(taskRoutes, { db: deps.db, relay: deps.relay });
    await api.register(taskWorkflowRoutes, { db: deps.db, relay: deps.relay });
    await api.register(authRoutes, { jwtSecret: deps.jwtSecret, jwtTtlSeconds: deps.jwtTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS });
    await api.register(apiKeyRoutes, { db: deps.db });
    await api.register(orgRoutes, { db: deps.db });
    await api.register(teamRoutes, { db: deps.db });
    await api.register(agentRoutes, { db: deps.db, relay: deps.relay });
    await api.register(installationRoutes, { db: deps.db });
    await api.register(outboundWebhookRoutes, { db: deps.db, box: deps.box, relay: deps.relay, guard: deps.outboundGuard ?? urlGuard() });
    await api.register(runRoutes, { db: deps.db, relay: deps.relay, ...(deps.runs ?? DEFAULT_RUNS) });
    await api.register(mcpRoutes, { db: deps.db, relay: deps.relay, log: deps.log, policy: deps.mcpOrigins ?? { allowedOrigins: [] } });
  });
  const feed = new LiveFeed(deps.db, deps.log);
  await app.register(consoleRoutes, {
    db: deps.db, queue: deps.queue, relay: deps.relay, log: deps.log, feed, appConfigured: deps.appWebhookSecret !== undefined,
  });
  app.addHook("onClose", async () => {
    feed.stop();
    limiter?.redis?.disconnect();
  });
  return app;
}
