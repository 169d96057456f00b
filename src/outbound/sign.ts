import { createHmac } from "node:crypto";
import { sha256Signature } from "../crypto/sha256-signature.js";

/** The content Standard Webhooks signs: `id.timestamp.body`, the timestamp in whole seconds. */
export function standardWebhookContent(id: string, timestamp: number, body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.`, "utf8"), Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8")]);
}

const STANDARD_SECRET_PREFIX = "whsec_";

/** The Standard Webhooks key of a secret, read as the spec's libraries read it: the base64 after `whsec_`, decoded. */
export function standardWebhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(STANDARD_SECRET_PREFIX) ? secret.slice(STANDARD_SECRET_PREFIX.length) : secret, "base64");
}

/**
 * One `v1,<base64>` signature per secret, space-separated, as Standard Webhooks lists them during a key
 * rotation, each keyed with standardWebhookKey(secret), so an unmodified Standard Webhooks library verifies it.
 */
export function standardWebhookSignature(secrets: readonly string[], id: string, timestamp: number, body: string | Buffer): string {
  const content = standardWebhookContent(id, timestamp, body);
  return secrets.map((secret) => `v1,${createHmac("sha256", standardWebhookKey(secret)).update(content).digest("base64")}`).join(" ");
}

export interface SignedHeaders {
  "x-entourage-signature": string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * The signature headers of one attempt. `secrets` is the current secret first, then the previous one while
 * its grace period lasts; X-Entourage-Signature holds one value, made with the current secret.
 */
export function signNotification(secrets: readonly [string, ...string[]], deliveryId: string, timestamp: number, body: string): SignedHeaders {
  return {
    "x-entourage-signature": sha256Signature(secrets[0], body),
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": standardWebhookSignature(secrets, deliveryId, timestamp, body),
  };
}
