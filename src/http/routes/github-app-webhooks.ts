import type { FastifyInstance } from "fastify";
import { APP_RECEIVER } from "../../db/entities/delivery.js";
import { deliveryAnswer, ingest, type IngressDeps } from "../../ingress/ingest.js";
import { errorBody } from "../errors.js";
import { keepRawBody } from "../raw-body.js";

export const APP_WEBHOOK_PATH = "/api/github/webhooks";

/** The GitHub App's endpoint: signed with the App's WEBHOOK_SECRET, stored, queued, answered at once. */
export async function githubAppWebhookRoutes(app: FastifyInstance, opts: { deps: IngressDeps; webhookSecret?: string }): Promise<void> {
  keepRawBody(app);
  app.post(APP_WEBHOOK_PATH, async (request, reply) => {
    if (!opts.webhookSecret) {
      return reply.status(503).send(errorBody(
        "app_not_configured",
        "the GitHub App is not configured: set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET (or register it at /setup) and restart",
      ));
    }
    const result = await ingest(opts.deps, { name: APP_RECEIVER, secrets: [opts.webhookSecret] }, {
      headers: request.headers,
      body: request.body as Buffer,
    });
    return reply.status(result.httpStatus).send(deliveryAnswer(result));
  });
}
