import type { FastifyInstance } from "fastify";
import type { SecretBox } from "../../crypto/secret-box.js";
import { GoneError, NotFoundError } from "../../domain/errors.js";
import { secretsInForce } from "../../domain/secret-rotation.js";
import { findWebhookForReceive } from "../../domain/webhooks.js";
import { deliveryAnswer, ingest, type IngressDeps } from "../../ingress/ingest.js";
import { keepRawBody } from "../raw-body.js";

/** A repository webhook's or custom integration's endpoint, signed with that webhook's own secret. */
export async function webhookReceiveRoutes(app: FastifyInstance, opts: { deps: IngressDeps; box: SecretBox }): Promise<void> {
  keepRawBody(app);
  app.post<{ Params: { id: string } }>("/api/v1/webhooks/:id/receive", async (request, reply) => {
    const { id } = request.params;
    const webhook = await findWebhookForReceive(opts.deps.db, id);
    if (!webhook || webhook.provider === "github_app") throw new NotFoundError(`webhook ${id}`);
    if (!webhook.active) throw new GoneError(`webhook ${id} is inactive`);
    const result = await ingest(opts.deps, { name: webhook.id, secrets: secretsInForce(webhook, opts.box), webhook }, {
      headers: request.headers,
      body: request.body as Buffer,
    });
    return reply.status(result.httpStatus).send(deliveryAnswer(result));
  });
}
