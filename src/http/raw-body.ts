import type { FastifyInstance } from "fastify";

/** GitHub's own limit for a webhook payload. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

/** Inside `scope`, every body arrives as the exact bytes sent, so signatures are checked over them. */
export function keepRawBody(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  // The limit belongs to the routes, where a refused request's 413 can name it (request.routeOptions.bodyLimit).
  scope.addHook("onRoute", (route) => {
    route.bodyLimit ??= WEBHOOK_BODY_LIMIT;
  });
}

/** The 413's message: the limit of the route the body was sent to, in MiB and in exact bytes. */
export function bodyTooLargeMessage(limitBytes: number): string {
  const mebibytes = Number((limitBytes / (1024 * 1024)).toFixed(2));
  return `the body is larger than ${mebibytes} MiB (${limitBytes} bytes)`;
}
