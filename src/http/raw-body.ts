import type { FastifyInstance } from "fastify";

/** GitHub's own limit for a webhook payload. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

/** Inside `scope`, every body arrives as the exact bytes sent, so signatures are checked over them. */
export function keepRawBody(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));
}
