import { timingSafeEqual } from "node:crypto";
import { sha256Signature } from "../crypto/sha256-signature.js";

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/**
 * True when `signature` (the X-Hub-Signature-256 header) is the HMAC-SHA256 of the body under one of the secrets.
 * The HMAC covers the exact bytes received: decoding them as text first would let different bytes share a signature.
 */
export async function signatureMatches(body: Buffer, signature: string | undefined, secrets: readonly string[]): Promise<boolean> {
  if (!signature || !SIGNATURE.test(signature) || body.length === 0) return false;
  const given = Buffer.from(signature);
  return secrets.some((secret) => secret.length > 0 && timingSafeEqual(Buffer.from(sha256Signature(secret, body)), given));
}
