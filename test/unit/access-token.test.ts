import { describe, expect, it } from "@jest/globals";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { signAccessToken } from "../../src/http/access-token.js";

const SECRET = "unit-test-jwt-secret-0123456789abcdef";

describe("signAccessToken", () => {
  it("signs HS256 with sub, org_id, role, typ access, iat and exp = iat + ttl", async () => {
    const now = new Date("2026-02-27T14:30:00.400Z");
    const { token, expiresAt } = await signAccessToken(SECRET, { keyId: "key-1", orgId: "org-1", role: "agent" }, 900, now);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"], currentDate: now });
    const iat = Math.floor(now.getTime() / 1000);
    expect(payload).toEqual({ sub: "key-1", org_id: "org-1", role: "agent", typ: "access", iat, exp: iat + 900 });
    expect(expiresAt.toISOString()).toBe("2026-02-27T14:45:00.000Z");
  });

  it("is refused once the lifetime has passed", async () => {
    const now = new Date("2026-02-27T14:30:00Z");
    const { token } = await signAccessToken(SECRET, { keyId: "k", orgId: "o", role: "admin" }, 60, now);
    const key = new TextEncoder().encode(SECRET);
    await expect(jwtVerify(token, key, { currentDate: new Date("2026-02-27T14:30:59Z") })).resolves.toBeDefined();
    await expect(jwtVerify(token, key, { currentDate: new Date("2026-02-27T14:31:01Z") })).rejects.toThrow(/exp/);
  });
});
