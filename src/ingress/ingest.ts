import type { DataSource } from "typeorm";
import type { Webhook } from "../db/entities/webhook.js";
import type { RecordedDelivery } from "../domain/deliveries.js";
import { DomainError, UnauthorizedError, ValidationError } from "../domain/errors.js";
import { eventType, subscribes } from "../domain/event-types.js";
import type { Metrics } from "../metrics.js";
import type { DeliveryBatcher } from "./delivery-batcher.js";
import { signatureMatches } from "./verify-signature.js";
import { SECRET_HEADERS } from "../log.js";

export interface IngressDeps {
  db: DataSource;
  /** Stores and queues deliveries, several requests' in one commit under load. */
  deliveries: DeliveryBatcher;
  metrics: Metrics;
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor() {
    super("unsupported_media_type", "Content-Type must be application/json");
  }
}

export interface IncomingRequest {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface Receiver {
  /** APP_RECEIVER or the webhook's id. */
  name: string;
  secrets: readonly string[];
  /** The per-webhook endpoint's webhook: its org, and its events filter applied on arrival. */
  webhook?: Webhook;
}

export interface IngestResult {
  httpStatus: 200 | 202;
  delivery: RecordedDelivery;
}

const EVENT_NAME = /^[a-z_]{1,64}$/;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;

function header(request: IncomingRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? undefined : value;
}

const UNKEPT_HEADERS = new Set(SECRET_HEADERS);

function keptHeaders(request: IncomingRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers)
    .filter((entry): entry is [string, string] => typeof entry[1] === "string" && !UNKEPT_HEADERS.has(entry[0].toLowerCase())));
}

/** The body as text and as the object it holds. */
function parseObject(body: Buffer): { text: string; payload: Record<string, unknown> } {
  const text = body.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError("the body is not valid JSON", "invalid_json");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ValidationError("the body must be a JSON object", "invalid_json");
  }
  return { text, payload: parsed as Record<string, unknown> };
}

/**
 * Verify → record → enqueue. Whatever gets a 2xx is in the database first; the queue
 * may be down (the delivery waits in `received` for the sweeper).
 */
export async function ingest(deps: IngressDeps, receiver: Receiver, request: IncomingRequest): Promise<IngestResult> {
  const contentType = header(request, "content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) throw new UnsupportedMediaTypeError();
  if (!(await signatureMatches(request.body, header(request, "x-hub-signature-256"), receiver.secrets))) {
    throw new UnauthorizedError("X-Hub-Signature-256 is missing or does not match the body");
  }
  const event = header(request, "x-github-event");
  if (!event || !EVENT_NAME.test(event)) throw new ValidationError("X-GitHub-Event header is missing or malformed", "missing_header");
  const githubDeliveryId = header(request, "x-github-delivery");
  if (!githubDeliveryId || !DELIVERY_ID.test(githubDeliveryId)) {
    throw new ValidationError("X-GitHub-Delivery header is missing or malformed", "missing_header");
  }
  const { text, payload } = parseObject(request.body);

  const webhook = receiver.webhook;
  const type = eventType(event, payload);
  const filteredOut = webhook !== undefined && !subscribes(webhook.events, type);
  const delivery = await deps.deliveries.record({
    receiver: receiver.name,
    webhookId: webhook?.id ?? null,
    orgId: webhook?.org_id ?? null,
    githubDeliveryId,
    event,
    payload,
    payloadJson: text,
    headers: keptHeaders(request),
    status: filteredOut ? "ignored" : "received",
    actionTaken: filteredOut ? `ignored: event ${type} is not in the webhook's events` : undefined,
  });
  deps.metrics.deliveriesReceived.inc({ event: type, result: delivery.duplicate ? "duplicate" : delivery.status });
  if (delivery.duplicate) return { httpStatus: 200, delivery };
  return { httpStatus: 202, delivery };
}

/** The body both webhook endpoints answer with. */
export function deliveryAnswer(result: IngestResult): { delivery_id: string; status: string; duplicate?: true } {
  return {
    delivery_id: result.delivery.id,
    status: result.delivery.status,
    ...(result.delivery.duplicate ? { duplicate: true as const } : {}),
  };
}
