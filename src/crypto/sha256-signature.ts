import { createHmac } from "node:crypto";

/**
 * `sha256=` + hex HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8 bytes: GitHub's
 * X-Hub-Signature-256, which the guide's receivers also verify X-Entourage-Signature with.
 */
export function sha256Signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest("hex")}`;
}
