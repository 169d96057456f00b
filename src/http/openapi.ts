import type { SwaggerTransformObject } from "@fastify/swagger";
import { jsonSchemaTransformObject } from "fastify-type-provider-zod";

type Operation = {
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; required?: boolean; description?: string; schema: Record<string, unknown> }[];
  requestBody?: unknown;
  responses?: Record<string, unknown>;
};
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
};

const ERROR_REF = { $ref: "#/components/schemas/Error" };

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "stable, for programs: not_found, invalid_request, unauthorized, …" },
        message: { type: "string", description: "for people: what is wrong and what is allowed" },
      },
    },
  },
};

/** Each error status the API answers, what it means, and an example body. */
const ERRORS: Record<string, [string, string, string]> = {
  "400": ["The request is not valid: a parameter, the query or the body", "invalid_request", "body/title: Too small: expected string to have >=1 characters"],
  "401": ["No valid credential: X-API-Key, or Authorization: Bearer with a token or a key", "unauthorized", "a valid X-API-Key or Authorization: Bearer token is required"],
  "403": ["The credential may not do this (an agent key on an admin route)", "forbidden", "this route needs an admin key or token"],
  "404": ["No such object in the caller's organization", "not_found", "task 601 not found"],
  "409": ["The object's state does not allow it", "illegal_transition", "task #601 cannot move from done to todo; allowed: archived"],
  "413": ["The body is larger than the limit", "payload_too_large", "the body is larger than 1 MiB (1048576 bytes)"],
  "415": ["The body is not JSON", "unsupported_media_type", "Content-Type must be application/json"],
  "429": ["Past the rate limit for this key or address; Retry-After says when to try again", "rate_limited", "too many requests: try again in 12 s"],
  "503": ["The database or the queue cannot be reached now; try again", "unavailable", "the database cannot be reached"],
};

function errorResponse(status: string): unknown {
  const [description, code, message] = ERRORS[status]!;
  return { description, content: { "application/json": { schema: ERROR_REF, example: { error: { code, message } } } } };
}

const PUBLIC = new Set(["/api/v1/health", "/api/github/webhooks", "/api/v1/webhooks/{id}/receive"]);
const RECEIVERS = new Set(["/api/github/webhooks", "/api/v1/webhooks/{id}/receive"]);

const RECEIVER_HEADERS: NonNullable<Operation["parameters"]> = [
  { in: "header", name: "X-Hub-Signature-256", required: true, description: "sha256= and the HMAC-SHA256 of the raw body with the webhook's secret", schema: { type: "string", pattern: "^sha256=[0-9a-f]{64}$" } },
  { in: "header", name: "X-GitHub-Event", required: true, description: "the event: issues, pull_request, issue_comment, …", schema: { type: "string" } },
  { in: "header", name: "X-GitHub-Delivery", required: false, description: "the delivery's id; the same id is stored once", schema: { type: "string" } },
];

/** A webhook receiver's own description: its headers, its body and its answers. */
function describeReceiver(path: string, operation: Operation): void {
  operation.tags = [path === "/api/github/webhooks" ? "github-app" : "webhooks"];
  operation.summary ??= path === "/api/github/webhooks"
    ? "GitHub's deliveries to the App, signed with WEBHOOK_SECRET"
    : "A repository webhook's or integration's deliveries, signed with that webhook's secret";
  operation.parameters = [...(operation.parameters ?? []).filter((p) => p.in !== "header"), ...RECEIVER_HEADERS];
  operation.requestBody = {
    required: true,
    content: { "application/json": { schema: { type: "object", description: "the event's payload, as GitHub sends it" }, example: { action: "opened", issue: { number: 42, title: "Login broken on Safari" }, repository: { full_name: "acme/web" } } } },
  };
  const accepted = { type: "object", required: ["delivery_id", "status"], properties: { delivery_id: { type: "string", format: "uuid" }, status: { type: "string" } } };
  operation.responses = {
    "202": { description: "Stored; a worker processes it", content: { "application/json": { schema: accepted, example: { delivery_id: "0196f0c8-…", status: "received" } } } },
    "200": { description: "A delivery id already stored: nothing new", content: { "application/json": { schema: accepted } } },
    ...Object.fromEntries(["400", "401", "404", "413", "415", "503"].map((status) => [status, errorResponse(status)])),
  };
}

const SUCCESS: Record<string, string> = { "200": "OK", "201": "Created", "202": "Accepted: done in the background", "204": "Done; no body" };

/** A 2xx answer whose schema has no description of its own is named by its status rather than "Default Response". */
function describeSuccess(responses: Record<string, unknown>): void {
  for (const [status, response] of Object.entries(responses)) {
    const answer = response as { description?: string };
    if (SUCCESS[status] && answer.description === "Default Response") answer.description = SUCCESS[status];
  }
}

/** The zod schemas with an id become components twice, as input and as output: keep those the document refers to. */
function dropUnusedComponents(document: Document): void {
  const schemas = document.components?.schemas ?? {};
  const used = new Set(["Error"]);
  const refer = (value: unknown) => {
    for (const [, name] of (JSON.stringify(value) ?? "").matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (used.has(name!)) continue;
      used.add(name!);
      refer(schemas[name!]);
    }
  };
  refer(document.paths);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}

/** The error answers of an API operation, from what it takes and how it is reached. */
function errorStatuses(path: string, method: string, operation: Operation): string[] {
  const statuses = ["401", "403", "429", "503"];
  const takesInput = (operation.parameters?.length ?? 0) > 0 || operation.requestBody !== undefined;
  if (takesInput) statuses.push("400");
  if (path.includes("{")) statuses.push("404");
  if (method !== "get") statuses.push("409");
  if (operation.requestBody !== undefined) statuses.push("413", "415");
  return statuses.sort();
}

/** A name for an operation without a tag: the resource its path names. */
function tagOf(path: string): string {
  return path.split("/").filter((part) => part && !part.startsWith("{"))[2] ?? "api";
}

/**
 * The API's OpenAPI document as the zod schemas make it, completed with what they cannot say: every
 * error answer with its schema and an example, no credential on the public routes, the webhook receivers'
 * headers and body, and a tag and summary on every operation.
 */
export const describeApi: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input) as Document;
  document.components = { ...document.components, schemas: { ...document.components?.schemas, Error: ERROR_SCHEMA } };
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      if (PUBLIC.has(path)) operation.security = [];
      if (RECEIVERS.has(path)) {
        describeReceiver(path, operation);
        continue;
      }
      operation.tags ??= [tagOf(path)];
      operation.summary ??= `${method.toUpperCase()} ${path}`;
      const responses = operation.responses ?? {};
      describeSuccess(responses);
      for (const status of PUBLIC.has(path) ? ["503"] : errorStatuses(path, method, operation)) responses[status] ??= errorResponse(status);
      operation.responses = responses;
    }
  }
  dropUnusedComponents(document);
  return document as ReturnType<SwaggerTransformObject>;
};
