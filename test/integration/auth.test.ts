import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT, type JWTPayload } from "jose";
import { ConfigError, loadConfig } from "../../src/config.js";
import { sql } from "../../src/db/sql.js";
import { createApiKey, hashApiKey } from "../../src/domain/api-keys.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;
let agentKey: string;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "auth", env: { JWT_TTL_SECONDS: "120" } });
  acme = await createTenant(rt, "acme");
  agentKey = (await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "robot", role: "agent" })).key;
});
afterAll(async () => {
  await rt?.stop();
});

type Credential = { key: string } | { bearer: string } | undefined;

function call(method: "GET" | "POST" | "DELETE", url: string, credential: Credential, payload?: unknown) {
  const headers: Record<string, string> = {};
  if (credential && "key" in credential) headers["x-api-key"] = credential.key;
  if (credential && "bearer" in credential) headers.authorization = `Bearer ${credential.bearer}`;
  return rt.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

const mint = (credential: Credential) => call("POST", "/api/v1/auth/token", credential);
const readOrg = (credential: Credential) => call("GET", `/api/v1/orgs/${acme.orgId}`, credential);

async function keyId(key: string): Promise<string> {
  const row = await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM api_keys WHERE key_hash = $1", [hashApiKey(key)]);
  return row.rows[0]!.id;
}

const secret = () => new TextEncoder().encode(rt.config.jwtSecret!);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token as a caller could forge it: the claims and algorithm are the test's to choose. */
function forge(claims: JWTPayload, options: { alg?: string; key?: Parameters<SignJWT["sign"]>[0] } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" }).sign(options.key ?? secret());
}

function goodClaims(overrides: JWTPayload = {}): JWTPayload {
  return { sub: "key-id", org_id: acme.orgId, role: "admin", typ: "access", iat: nowSeconds(), exp: nowSeconds() + 300, ...overrides };
}

function without(claim: string): JWTPayload {
  const { [claim]: _dropped, ...rest } = goodClaims();
  return rest;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("POST /api/v1/auth/token", () => {
  it("trades an API key for an HS256 token with the key's id, org and role, valid JWT_TTL_SECONDS", async () => {
    const before = nowSeconds();
    const res = await mint({ key: acme.apiKey });
    expect(res.statusCode).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(["expires_at", "token"]);
    expect(decodeProtectedHeader(body.token).alg).toBe("HS256");
    const claims = decodeJwt(body.token);
    expect(claims).toEqual({
      sub: await keyId(acme.apiKey), org_id: acme.orgId, role: "admin", typ: "access",
      iat: expect.any(Number), exp: expect.any(Number),
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(body.expires_at).toBe(new Date(claims.exp! * 1000).toISOString());
  });

  it("gives a token that works on a read route, and carries an agent key's role", async () => {
    const admin = (await mint({ key: acme.apiKey })).json().token;
    const read = await readOrg({ bearer: admin });
    expect(read.statusCode).toBe(200);
    expect(read.json().id).toBe(acme.orgId);

    const agent = (await mint({ key: agentKey })).json().token;
    expect(decodeJwt(agent).role).toBe("agent");
    expect((await readOrg({ bearer: agent })).statusCode).toBe(200);
    const adminRoute = await call("POST", "/api/v1/api-keys", { bearer: agent }, { name: "escalate" });
    expect(adminRoute.statusCode).toBe(403);
  });

  it("refuses a bearer token: only an API key can mint one", async () => {
    const token = (await mint({ key: acme.apiKey })).json().token;
    const res = await mint({ bearer: token });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("api_key_required");
    expect(res.json()).not.toHaveProperty("token");
  });

  it("answers 401 without a key, with an unknown key and with a revoked key", async () => {
    expect((await mint(undefined)).statusCode).toBe(401);
    expect((await mint({ key: "oc_not-a-real-key" })).json()).toEqual({ error: { code: "unauthorized", message: "the API key is not valid" } });
    const { record, key } = await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "doomed" });
    expect((await mint({ key })).statusCode).toBe(200);
    expect((await call("DELETE", `/api/v1/api-keys/${record.id}`, { key: acme.apiKey })).statusCode).toBe(204);
    expect((await mint({ key })).statusCode).toBe(401);
  });
});

describe("bearer tokens on /api/v1 routes", () => {
  it("accept a well-formed token (the control for the refusals below)", async () => {
    expect((await readOrg({ bearer: await forge(goodClaims()) })).statusCode).toBe(200);
  });

  it("refuse an expired token with 401 saying so", async () => {
    const res = await readOrg({ bearer: await forge(goodClaims({ iat: nowSeconds() - 600, exp: nowSeconds() - 60 })) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe("the token has expired");
  });

  it("refuse HS512 and RS256 tokens, even over the same secret", async () => {
    expect((await readOrg({ bearer: await forge(goodClaims(), { alg: "HS512" }) })).statusCode).toBe(401);
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect((await readOrg({ bearer: await forge(goodClaims(), { alg: "RS256", key: privateKey }) })).statusCode).toBe(401);
  });

  it("refuse alg none, with or without a signature part", async () => {
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(goodClaims())}`;
    expect((await readOrg({ bearer: `${unsigned}.` })).statusCode).toBe(401);
    const good = await forge(goodClaims());
    expect((await readOrg({ bearer: `${unsigned}.${good.split(".")[2]}` })).statusCode).toBe(401);
  });

  it("refuse a token signed with another secret", async () => {
    const other = new TextEncoder().encode("another-secret-that-is-long-enough-0123456789");
    expect((await readOrg({ bearer: await forge(goodClaims(), { key: other }) })).statusCode).toBe(401);
  });

  it.each(["sub", "exp", "org_id", "role"])("refuse a token without %s", async (claim) => {
    const res = await readOrg({ bearer: await forge(without(claim)) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("unauthorized");
  });

  it("refuse a token with a role that is not admin or agent", async () => {
    expect((await readOrg({ bearer: await forge(goodClaims({ role: "owner" })) })).statusCode).toBe(401);
  });

  it.each([{ typ: "refresh" }, { token_type: "refresh" }])("refuse a refresh token %j", async (claims) => {
    const res = await readOrg({ bearer: await forge(goodClaims(claims)) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe("refresh tokens are not accepted here");
  });

  it("refuse an API key that is not valid, sent as a bearer token, saying how keys are sent", async () => {
    const res = await readOrg({ bearer: "oc_mistyped-or-revoked" });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe("the API key is not valid (revoked or mistyped); send it as X-API-Key: oc_… or Authorization: Bearer oc_…");
  });

  it.each(["a-key-without-its-prefix", "only.two"])("refuse %j, neither a JWT nor an API key, pointing at X-API-Key", async (token) => {
    const res = await readOrg({ bearer: token });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe("the bearer token is neither a JWT nor an API key (oc_…); send an API key as X-API-Key: oc_…");
  });

  it("refuse a JWT-shaped token that does not verify as not valid, without a hint", async () => {
    expect((await readOrg({ bearer: "aaa.bbb.ccc" })).json().error.message).toBe("the bearer token is not valid");
  });

  it("scope the caller to the token's org_id: another org's objects are not found", async () => {
    const other = await createTenant(rt, "other-org");
    const token = await forge(goodClaims({ org_id: other.orgId }));
    expect((await readOrg({ bearer: token })).statusCode).toBe(404);
    expect((await call("GET", `/api/v1/orgs/${other.orgId}`, { bearer: token })).statusCode).toBe(200);
  });
});

describe("the OpenAPI document", () => {
  it("describes every identity route with a tag, a summary and its body schema", async () => {
    const doc = (await rt.server.inject({ method: "GET", url: "/api/openapi.json" })).json();
    const routes: [string, string, string][] = [
      ["post", "/api/v1/auth/token", "auth"],
      ["post", "/api/v1/api-keys", "api-keys"], ["get", "/api/v1/api-keys", "api-keys"], ["delete", "/api/v1/api-keys/{id}", "api-keys"],
      ["get", "/api/v1/orgs/{id}", "organizations"], ["patch", "/api/v1/orgs/{id}", "organizations"],
      ["post", "/api/v1/orgs/{org_id}/teams", "teams"], ["get", "/api/v1/orgs/{org_id}/teams", "teams"], ["get", "/api/v1/teams/{id}", "teams"],
      ["post", "/api/v1/teams/{team_id}/agents", "agents"], ["get", "/api/v1/teams/{team_id}/agents", "agents"],
      ["get", "/api/v1/agents/{id}", "agents"], ["patch", "/api/v1/agents/{id}", "agents"],
    ];
    for (const [method, path, tag] of routes) {
      const operation = doc.paths[path]?.[method];
      expect({ route: `${method} ${path}`, tags: operation?.tags, summary: typeof operation?.summary }).toEqual({ route: `${method} ${path}`, tags: [tag], summary: "string" });
    }
    const agentBody = doc.paths["/api/v1/teams/{team_id}/agents"].post.requestBody.content["application/json"].schema;
    expect(agentBody).toMatchObject({ required: ["name", "role"], additionalProperties: false, properties: { role: { enum: ["manager", "engineer", "reviewer"] } } });
  });
});

describe("JWT_TTL_SECONDS", () => {
  it("defaults to 15 minutes and refuses a lifetime that is not short", () => {
    expect(loadConfig({}).jwtTtlSeconds).toBe(900);
    expect(loadConfig({ JWT_TTL_SECONDS: "60" }).jwtTtlSeconds).toBe(60);
    for (const bad of ["0", "-5", "ten", "86401"]) {
      expect(() => loadConfig({ JWT_TTL_SECONDS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ JWT_TTL_SECONDS: bad })).toThrow(/^JWT_TTL_SECONDS: /);
    }
  });
});

describe("a server on PostgreSQL without JWT_SECRET", () => {
  it("does not start, and says which variable is missing", async () => {
    await expect(startTestRuntime({ label: "auth_no_jwt", env: { JWT_SECRET: "" } })).rejects.toThrow("JWT_SECRET: required when DATABASE_URL is set");
  });
});
