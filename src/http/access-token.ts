import { SignJWT } from "jose";
import type { ApiKeyRole } from "../db/entities/api-key.js";

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

export interface AccessToken {
  token: string;
  expiresAt: Date;
}

/** An HS256 access token for the holder of an API key: what `authenticate` accepts as a bearer. */
export async function signAccessToken(
  secret: string,
  claims: { keyId: string; orgId: string; role: ApiKeyRole },
  ttlSeconds: number,
  now: Date = new Date(),
): Promise<AccessToken> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = issuedAt + ttlSeconds;
  const token = await new SignJWT({ org_id: claims.orgId, role: claims.role, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.keyId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
  return { token, expiresAt: new Date(expiresAt * 1000) };
}
