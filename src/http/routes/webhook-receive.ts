import type { FastifyInstance } from "fastify";
import { SecretUnreadableError, type SecretBox } from "../../crypto/secret-box.js";
import { GoneError, NotFoundError, ServiceUnavailableError } from "../../domain/errors.js";
import { secretsInForce } from "../../domain/secret-rotation.js";
import { findWebhookForReceive } from "../../domain/webhooks.js";
import { deliveryAnswer, ingest, type IngressDeps } from "../../ingress/ingest.js";
import { keepRawBody } from "../raw-body.js";

/** A repository webhook's or custom integration's endpoint, signed with that webhook's own secret. */
export async function webhookReceiveRoutes(app: FastifyInstance, opts: { deps: IngressDeps; box: SecretBox }): Promise<void> {
  keepRawBody(app);
  // Said once per webhook: every delivery to it would say it again.
  const unreadable = new Set<string>();
  const secretsOf = (webhook: Parameters<typeof secretsInForce>[0] & { id: string }): string[] => {
    try {
      return secretsInForce(webhook, opts.box);
    } catch (error) {
      if (!(error instanceof SecretUnreadableError)) throw error;
      if (!unreadable.has(webhook.id)) app.log.error({ webhook_id: webhook.id }, `${error.message}: deliveries to this webhook answer 503 until the key is fixed`);
      unreadable.add(webhook.id);
      throw new ServiceUnavailableError("this webhook's secret cannot be opened with the server's ENCRYPTION_KEY; the server's operator must fix the key", "secret_unreadable");
    }
  };
  app.post<{ Params: { id: string } }>("/api/v1/webhooks/:id/receive", async (request, reply) => {
    const { id } = request.params;
    const webhook = await findWebhookForReceive(opts.deps.db, id);
    if (!webhook || webhook.provider === "github_app") throw new NotFoundError(`webhook ${id}`);
    if (!webhook.active) throw new GoneError(`webhook ${id} is inactive`);
    const result = await ingest(opts.deps, { name: webhook.id, secrets: secretsOf(webhook), webhook }, {
      headers: request.headers,
      body: request.body as Buffer,
    });
    return reply.status(result.httpStatus).send(deliveryAnswer(result));
  });
}
