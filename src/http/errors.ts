import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { pgErrorCode } from "../db/pg-error-code.js";
import {
  ConflictError, DomainError, ForbiddenError, GoneError, NotFoundError, RateLimitedError, ServiceUnavailableError, UnauthorizedError,
  ValidationError,
} from "../domain/errors.js";
import { UnsupportedMediaTypeError } from "../ingress/ingest.js";
import { bodyTooLargeMessage } from "./raw-body.js";

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** The HTTP status of a domain error, for the API and the console alike. */
export function domainStatus(error: DomainError): number {
  if (error instanceof ValidationError) return 400;
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof GoneError) return 410;
  if (error instanceof UnsupportedMediaTypeError) return 415;
  if (error instanceof RateLimitedError) return 429;
  if (error instanceof ServiceUnavailableError) return 503;
  return 400;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"]);

/** Errors that mean the database could not be reached, rather than a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { message?: string };
  const code = pgErrorCode(error);
  if (code && CONNECTION_CODES.has(code)) return true;
  // The last three are PgBouncer's (SQLSTATE 08P01) while it cannot reach PostgreSQL or waits too long for a server connection.
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Driver not Connected|server login has been failing|server conn crashed|query_wait_timeout/i.test(e?.message ?? "");
}

function fastifyStatus(error: FastifyError, request: FastifyRequest): [number, string, string?] | undefined {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return [413, "payload_too_large", bodyTooLargeMessage(request.routeOptions.bodyLimit)];
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return [415, "unsupported_media_type", new UnsupportedMediaTypeError().message];
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return [400, "invalid_request"];
    case "FST_ERR_BAD_URL":
      return [400, "invalid_url"];
    case "FST_ERR_MAX_PARAM_LENGTH":
      return [414, "uri_too_long"];
    default:
      return undefined;
  }
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (malformed or oversized headers) get the same JSON error shape;
 * returns what was answered, nothing for a connection already gone.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): { status: number; code: string } | undefined {
  if (error.code === "ECONNRESET" || socket.destroyed) return undefined;
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW" ? [431, "headers_too_large", "the request headers are larger than the server accepts"]
    : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? [408, "request_timeout", "the request did not arrive in time"]
    : [400, "malformed_request", "the request is not valid HTTP"];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
  return { status, code };
}

export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof DomainError) {
    const status = domainStatus(error);
    if (error instanceof RateLimitedError) void reply.header("retry-after", error.retryAfterSeconds);
    // RFC 9110: a 401 names the scheme to authenticate with.
    if (status === 401) void reply.header("www-authenticate", 'Bearer realm="entourage"');
    void reply.status(status).send(errorBody(error.code, error.message));
    return;
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const details = error.validation.map((v) => `${v.instancePath.replace(/^\//, "").replace(/\//g, ".") || error.validationContext}: ${v.message}`);
    void reply.status(400).send(errorBody("invalid_request", `${error.validationContext ?? "request"} is invalid: ${details.join("; ")}`));
    return;
  }
  const known = fastifyStatus(error, request);
  if (known) {
    void reply.status(known[0]).send(errorBody(known[1], known[2] ?? error.message));
    return;
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    void reply.status(400).send(errorBody("invalid_json", "the body is not valid JSON"));
    return;
  }
  if (isDatabaseUnavailable(error)) {
    request.log.error({ err: error.message }, "database unavailable");
    void reply.status(503).header("retry-after", "5").send(errorBody("database_unavailable", "the database is unavailable; try again shortly"));
    return;
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    void reply.status(error.statusCode).send(errorBody(error.code?.toLowerCase() ?? "invalid_request", error.message));
    return;
  }
  request.log.error({ err: error }, "request failed");
  void reply.status(500).send(errorBody("internal", "internal error"));
}
