import { verify } from "@octokit/webhooks-methods";

/** True when `signature` (the X-Hub-Signature-256 header) is the HMAC-SHA256 of the body under one of the secrets. */
export async function signatureMatches(body: Buffer, signature: string | undefined, secrets: readonly string[]): Promise<boolean> {
  if (!signature || body.length === 0) return false;
  const payload = body.toString("utf8");
  for (const secret of secrets) {
    try {
      if (await verify(secret, payload, signature)) return true;
    } catch {
      return false;
    }
  }
  return false;
}
