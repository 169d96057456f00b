import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { createApiKey, hashApiKey } from "../../src/domain/api-keys.js";
import { countRows, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;
let rival: Tenant;
let agentKey: string;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "api_keys" });
  acme = await createTenant(rt, "acme");
  rival = await createTenant(rt, "rival");
  agentKey = (await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "robot", role: "agent" })).key;
});
afterAll(async () => {
  await rt?.stop();
});

function call(method: "GET" | "POST" | "DELETE", url: string, key: string | undefined, payload?: unknown) {
  return rt.server.inject({
    method, url,
    headers: key ? { "x-api-key": key } : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

const create = (payload: unknown, key = acme.apiKey) => call("POST", "/api/v1/api-keys", key, payload);
const list = (query = "", key = acme.apiKey) => call("GET", `/api/v1/api-keys${query}`, key);
const revoke = (id: string, key = acme.apiKey) => call("DELETE", `/api/v1/api-keys/${id}`, key);
const works = async (key: string) => (await call("GET", `/api/v1/orgs/${acme.orgId}`, key)).statusCode === 200;

describe("POST /api/v1/api-keys", () => {
  it("creates a key shown once, with its id, name, role, prefix and time", async () => {
    const res = await create({ name: "ci", role: "agent" });
    expect(res.statusCode).toBe(201);
    expect(res.headers["cache-control"]).toBe("no-store");
    const body = res.json();
    expect(body).toEqual({
      id: expect.any(String), org_id: acme.orgId, name: "ci", role: "agent", agent_id: null, key_prefix: body.api_key.slice(0, 10),
      last_used_at: null, revoked_at: null, created_at: expect.any(String), api_key: expect.stringMatching(/^oc_[A-Za-z0-9_-]{43}$/),
    });
    const stored = await sql(rt.database.dataSource, "SELECT * FROM api_keys WHERE id = $1", [body.id]);
    expect(stored.rows[0]).toMatchObject({ key_hash: hashApiKey(body.api_key), org_id: acme.orgId });
    expect(JSON.stringify(stored.rows[0])).not.toContain(body.api_key);
    expect(await works(body.api_key)).toBe(true);
  });

  it("makes an admin key when no role is given", async () => {
    const body = (await create({ name: "ops" })).json();
    expect(body.role).toBe("admin");
    expect((await create({ name: "made by ops" }, body.api_key)).statusCode).toBe(201);
  });

  it.each([
    ["a missing name", { role: "admin" }],
    ["a blank name", { name: "   " }],
    ["a name of the wrong type", { name: 42 }],
    ["a name with a NUL character", { name: "ci\u0000" }],
    ["an unknown role", { name: "x", role: "owner" }],
    ["a role of the wrong type", { name: "x", role: ["admin"] }],
    ["an unknown field", { name: "x", scopes: ["all"] }],
    ["a body that is not an object", ["x"]],
  ])("answers 400 for %s and creates nothing", async (_what, payload) => {
    const before = await countRows(rt, "api_keys");
    const res = await create(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
    expect(await countRows(rt, "api_keys")).toBe(before);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const res = await rt.server.inject({
      method: "POST", url: "/api/v1/api-keys", headers: { "x-api-key": acme.apiKey, "content-type": "application/json" }, payload: "{name:",
    });
    expect(res.statusCode).toBe(400);
  });
});

describe("GET /api/v1/api-keys", () => {
  it("lists the org's keys newest first, page by page, never a key or its hash", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create({ name: `page-${i}` })).json().id);
    const seen: { id: string; created_at: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.data.length).toBeLessThanOrEqual(2);
      expect(res.body).not.toMatch(/key_hash|api_key|oc_[A-Za-z0-9_-]{20}/);
      seen.push(...page.data);
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    const ids = seen.map((k) => k.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([...made, await idOf(acme.apiKey), await idOf(agentKey)]));
    expect(ids).not.toContain(await idOf(rival.apiKey));
    expect(ids.length).toBe(await orgKeyCount(acme.orgId));
    expect(pages).toBe(Math.ceil(ids.length / 2));
    expect(ids.indexOf(made[4]!)).toBeLessThan(ids.indexOf(made[0]!));
    const times = seen.map((k) => k.created_at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("shows last_used_at once a key has been used", async () => {
    const { id, api_key } = (await create({ name: "used" })).json();
    const find = async () => (await list("?limit=200")).json().data.find((k: { id: string }) => k.id === id);
    expect((await find()).last_used_at).toBeNull();
    expect(await works(api_key)).toBe(true);
    expect(Date.parse((await find()).last_used_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("refuses a cursor it did not make and a limit out of range with 400", async () => {
    expect((await list("?cursor=bm9wZQ")).json().error.code).toBe("invalid_cursor");
    expect((await list("?limit=0")).statusCode).toBe(400);
    expect((await list("?limit=201")).statusCode).toBe(400);
  });
});

describe("DELETE /api/v1/api-keys/:id", () => {
  it("revokes the key at once (204), and again is no change", async () => {
    const { id, api_key } = (await create({ name: "leaked" })).json();
    expect(await works(api_key)).toBe(true);
    const res = await revoke(id);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expect(await works(api_key)).toBe(false);
    const first = (await sql<{ revoked_at: Date }>(rt.database.dataSource, "SELECT revoked_at FROM api_keys WHERE id = $1", [id])).rows[0]!.revoked_at;
    expect((await revoke(id)).statusCode).toBe(204);
    const second = (await sql<{ revoked_at: Date }>(rt.database.dataSource, "SELECT revoked_at FROM api_keys WHERE id = $1", [id])).rows[0]!.revoked_at;
    expect(second).toEqual(first);
    const listed = (await list("?limit=200")).json().data.find((k: { id: string }) => k.id === id);
    expect(listed.revoked_at).toBe(first.toISOString());
  });

  it("lets a key revoke itself, after which it is refused", async () => {
    const { id, api_key } = (await create({ name: "self" })).json();
    expect((await revoke(id, api_key)).statusCode).toBe(204);
    expect((await revoke(id, api_key)).statusCode).toBe(401);
  });

  it("answers 404 for another org's key and leaves it working; 404 for an unknown id; 400 for a bad id", async () => {
    const rivalKeyId = await idOf(rival.apiKey);
    const res = await revoke(rivalKeyId);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
    expect((await call("GET", `/api/v1/orgs/${rival.orgId}`, rival.apiKey)).statusCode).toBe(200);
    expect((await revoke(randomUUID())).statusCode).toBe(404);
    expect((await revoke("not-a-uuid")).statusCode).toBe(400);
  });
});

describe("who may manage keys", () => {
  it("answers 401 to every key route without a key", async () => {
    const id = await idOf(agentKey);
    for (const res of [await create({ name: "x" }, ""), await list("", ""), await revoke(id, "")]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
  });

  it("answers 403 to an agent-role key on every key route, and changes nothing", async () => {
    const before = await countRows(rt, "api_keys");
    const target = await idOf(acme.apiKey);
    for (const res of [await create({ name: "x" }, agentKey), await list("", agentKey), await revoke(target, agentKey)]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe("forbidden");
    }
    expect(await countRows(rt, "api_keys")).toBe(before);
    expect(await works(acme.apiKey)).toBe(true);
  });
});

async function idOf(key: string): Promise<string> {
  const row = await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM api_keys WHERE key_hash = $1", [hashApiKey(key)]);
  return row.rows[0]!.id;
}

async function orgKeyCount(orgId: string): Promise<number> {
  const row = await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM api_keys WHERE org_id = $1", [orgId]);
  return row.rows[0]!.n;
}
