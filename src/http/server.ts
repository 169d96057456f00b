import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import type { Logger } from "../log.js";
import type { JobQueue } from "../queue/queue.js";
import { requirePrincipal } from "./auth.js";
import { errorBody, handleError } from "./errors.js";
import { githubAppWebhookRoutes } from "./routes/github-app-webhooks.js";
import { healthRoutes } from "./routes/health.js";
import { taskRoutes } from "./routes/tasks.js";
import { webhookReceiveRoutes } from "./routes/webhook-receive.js";
import { webhookRoutes } from "./routes/webhooks.js";

export interface ServerDeps {
  db: DataSource;
  queue: JobQueue;
  log: Logger;
  /** The GitHub App's webhook secret; unset while the App is not configured. */
  appWebhookSecret?: string;
  jwtSecret?: string;
  /** Serve only health (a worker process). */
  healthOnly?: boolean;
}

/** The HTTP server: both webhook endpoints, the REST API and health. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    requestTimeout: 30_000,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody("not_found", `no route for ${request.method} ${request.url.split("?")[0]}`)));

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
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/api/docs" });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { db: deps.db, queue: deps.queue });

  const ingress = { db: deps.db, queue: deps.queue, log: deps.log };
  await app.register(githubAppWebhookRoutes, { deps: ingress, webhookSecret: deps.appWebhookSecret });
  await app.register(webhookReceiveRoutes, { deps: ingress });
  await app.register(async (api) => {
    requirePrincipal(api, { db: deps.db, jwtSecret: deps.jwtSecret });
    await api.register(webhookRoutes, { db: deps.db });
    await api.register(taskRoutes, { db: deps.db });
  });
  return app;
}
