import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/**
 * True when `signature` (the X-Hub-Signature-256 header) is the HMAC-SHA256 of the body under one of the secrets.
 * The HMAC covers the exact bytes received: decoding them as text first would let different bytes share a signature.
 */
export async function signatureMatches(body: Buffer, signature: string | undefined, secrets: readonly string[]): Promise<boolean> {
  const given = SIGNATURE.exec(signature ?? "")?.[1];
  if (!given || body.length === 0) return false;
  const expected = Buffer.from(given, "hex");
  return secrets.some((secret) => secret.length > 0 && timingSafeEqual(createHmac("sha256", secret).update(body).digest(), expected));
}
