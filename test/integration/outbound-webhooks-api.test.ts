import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { createTenant, startTestRuntime, TEST_ENCRYPTION_KEY, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let globex: Tenant;
let api: ReturnType<typeof apiClient>;
let agentApi: ReturnType<typeof apiClient>;
let globexApi: ReturnType<typeof apiClient>;

// Nothing listens on port 9 here: a notification sent there fails and waits 10 s (the default) for its retry.
const LOCAL_URL = "http://127.0.0.1:9/entourage-webhook";

beforeAll(async () => {
  rt = await startTestRuntime({ label: "outbound_api", env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1" } });
  acme = await createTenant(rt, "acme");
  globex = await createTenant(rt, "globex");
  api = apiClient(rt, acme.apiKey);
  agentApi = apiClient(rt, (await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "agent", role: "agent" })).key);
  globexApi = apiClient(rt, globex.apiKey);
});
afterAll(async () => {
  await rt?.stop();
});

async function subscribe(body: Record<string, unknown> = {}) {
  const res = await api.post("/api/v1/outbound-webhooks", { url: LOCAL_URL, events: ["task.completed"], active: false, ...body });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string } & Record<string, unknown>;
}

async function row(id: string) {
  return (await sql<Record<string, any>>(rt.database.dataSource, "SELECT * FROM outbound_webhooks WHERE id = $1", [id])).rows[0]!;
}

const box = SecretBox.fromText(TEST_ENCRYPTION_KEY);

/** The row with its secrets and API key opened, as the worker reads them. */
async function opened(id: string) {
  const stored = await row(id);
  for (const column of ["secret", "previous_secret", "api_key"]) {
    if (stored[column] !== null) stored[column] = box.open(stored[column]);
  }
  return stored;
}

const HIDDEN = ["secret", "previous_secret", "previous_secret_expires_at", "api_key", "deleted_at"];

describe("POST /api/v1/outbound-webhooks", () => {
  it("answers the subscription with its secret once; reads never show the secret or the API key", async () => {
    const res = await api.post("/api/v1/outbound-webhooks", {
      url: LOCAL_URL, events: ["Task.Completed", "task.created", "task.completed"], team_id: acme.teamId, api_key: "oc_receiver_key",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      org_id: acme.orgId, team_id: acme.teamId, url: LOCAL_URL, events: ["task.completed", "task.created"], active: true,
      has_api_key: true, disabled_at: null, disabled_reason: null, failing_since: null, last_success_at: null,
    });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(res.body).not.toHaveProperty("api_key");
    // Sealed at rest (AES-256-GCM): the stored text holds neither the secret nor the key.
    const stored = await row(res.body.id);
    expect(stored).toMatchObject({ secret: expect.stringMatching(/^enc:v1:/), api_key: expect.stringMatching(/^enc:v1:/) });
    expect(JSON.stringify(stored)).not.toContain(res.body.secret.slice(6));
    expect(JSON.stringify(stored)).not.toContain("oc_receiver_key");
    expect(await opened(res.body.id)).toMatchObject({ secret: res.body.secret, api_key: "oc_receiver_key" });

    const shown = await api.get(`/api/v1/outbound-webhooks/${res.body.id}`);
    expect(shown.status).toBe(200);
    for (const hidden of HIDDEN) expect(shown.body).not.toHaveProperty(hidden);
    expect(shown.body.has_api_key).toBe(true);
    const listed = (await api.get("/api/v1/outbound-webhooks?limit=200")).body;
    const item = listed.data.find((w: { id: string }) => w.id === res.body.id);
    for (const hidden of HIDDEN) expect(item).not.toHaveProperty(hidden);
    expect(JSON.stringify(listed)).not.toContain(res.body.secret);
    expect(JSON.stringify(listed)).not.toContain("oc_receiver_key");
  });

  it("takes * for every event, and no api_key means has_api_key false", async () => {
    const hook = await subscribe({ events: ["task.created", "*"] });
    expect(hook).toMatchObject({ events: ["*"], has_api_key: false, active: false, team_id: null });
  });

  it.each([
    ["http to a host not allowed", { url: "http://10.0.0.1/hook" }, "unsafe_url"],
    ["a private address", { url: "https://10.0.0.1/hook" }, "unsafe_url"],
    ["a host resolving to loopback", { url: "https://localhost/hook" }, "unsafe_url"],
    ["loopback by another name", { url: "https://127.0.0.2/hook" }, "unsafe_url"],
    ["the cloud metadata address", { url: "https://169.254.169.254/latest/meta-data/" }, "unsafe_url"],
    ["an IPv4-mapped loopback", { url: "https://[::ffff:127.0.0.1]/hook" }, "unsafe_url"],
    ["another scheme", { url: "ftp://127.0.0.1/hook" }, "unsafe_url"],
    ["a host that does not resolve", { url: "https://entourage-test.invalid/hook" }, "unsafe_url"],
    ["not a URL", { url: "hooks" }, "unsafe_url"],
    ["an unknown event", { events: ["task.updated"] }, "invalid_events"],
    ["no events", { events: [] }, "invalid_request"],
    ["another organization's team", { team_id: "GLOBEX" }, "invalid_team"],
    ["a team that does not exist", { team_id: randomUUID() }, "invalid_team"],
    ["an API key with a line break", { api_key: "oc_key\r\nX-Evil: 1" }, "invalid_request"],
    ["a missing url", { url: undefined }, "invalid_request"],
  ])("refuses %s with 400 and stores nothing", async (_name, change, code) => {
    const before = (await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM outbound_webhooks")).rows[0]!.n;
    const body: Record<string, unknown> = { url: LOCAL_URL, events: ["task.completed"], ...change };
    if (body.team_id === "GLOBEX") body.team_id = globex.teamId;
    const res = await api.post("/api/v1/outbound-webhooks", body);
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code });
    const after = (await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM outbound_webhooks")).rows[0]!.n;
    expect(after).toBe(before);
  });

  it("names the address it refused", async () => {
    const res = await api.post("/api/v1/outbound-webhooks", { url: "https://localhost:8443/hook", events: ["*"] });
    expect(res.body.error.message).toMatch(/localhost resolves to 127\.0\.0\.1 \(loopback\)/);
    const http = await api.post("/api/v1/outbound-webhooks", { url: "http://10.0.0.1/hook", events: ["*"] });
    expect(http.body.error.message).toMatch(/must be https/);
  });

  it("is for admins: an agent key may read but not manage", async () => {
    const hook = await subscribe();
    expect((await agentApi.post("/api/v1/outbound-webhooks", { url: LOCAL_URL, events: ["*"] })).status).toBe(403);
    expect((await agentApi.patch(`/api/v1/outbound-webhooks/${hook.id}`, { active: true })).status).toBe(403);
    expect((await agentApi.delete(`/api/v1/outbound-webhooks/${hook.id}`)).status).toBe(403);
    expect((await agentApi.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`)).status).toBe(403);
    expect((await agentApi.get(`/api/v1/outbound-webhooks/${hook.id}`)).status).toBe(200);
    expect((await agentApi.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries`)).status).toBe(200);
    expect((await agentApi.get("/api/v1/outbound-webhooks")).status).toBe(200);
  });
});

describe("another organization", () => {
  it("gets 404 for every route of a subscription that is not its own, and never sees it listed", async () => {
    const hook = await subscribe();
    const base = `/api/v1/outbound-webhooks/${hook.id}`;
    const delivery = randomUUID();
    const calls = [
      globexApi.get(base),
      globexApi.patch(base, { active: true }),
      globexApi.delete(base),
      globexApi.post(`${base}/regenerate-secret`),
      globexApi.get(`${base}/deliveries`),
      globexApi.get(`${base}/deliveries/${delivery}`),
      globexApi.post(`${base}/deliveries/${delivery}/redeliver`),
    ];
    for (const res of await Promise.all(calls)) expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: "not_found" });
    const listed = (await globexApi.get("/api/v1/outbound-webhooks?limit=200")).body.data;
    expect(listed.map((w: { id: string }) => w.id)).not.toContain(hook.id);
    expect(await opened(hook.id)).toMatchObject({ active: false, deleted_at: null, secret: hook.secret });
  });
});

describe("PATCH /api/v1/outbound-webhooks/:id", () => {
  it("changes url, events, team, API key and active; refuses an unsafe url and keeps the old one", async () => {
    const hook = await subscribe({ api_key: "oc_first" });
    const other = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "platform" });
    const res = await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, {
      url: "http://127.0.0.1:9/other", events: ["task.cancelled", "delivery.failed"], team_id: other.id, api_key: null,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      url: "http://127.0.0.1:9/other", events: ["delivery.failed", "task.cancelled"], team_id: other.id, has_api_key: false,
    });
    expect((await row(hook.id)).api_key).toBeNull();
    expect((await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, { api_key: "oc_second" })).body.has_api_key).toBe(true);
    expect((await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, { team_id: null })).body.team_id).toBeNull();

    const unsafe = await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, { url: "https://192.168.1.1/hook" });
    expect({ status: unsafe.status, code: unsafe.body.error.code }).toEqual({ status: 400, code: "unsafe_url" });
    for (const [body, code] of [
      [{ team_id: globex.teamId }, "invalid_team"],
      [{ events: ["nope"] }, "invalid_events"],
      [{}, "invalid_request"],
      [{ secret: "whsec_mine" }, "invalid_request"],
    ] as const) {
      const refused = await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, body);
      expect({ body, status: refused.status, code: refused.body.error.code }).toEqual({ body, status: 400, code });
    }
    expect((await row(hook.id)).api_key).toMatch(/^enc:v1:/);
    expect(await opened(hook.id)).toMatchObject({ url: "http://127.0.0.1:9/other", api_key: "oc_second", secret: hook.secret });
  });

  it("turning a subscription on again clears why it was turned off", async () => {
    const hook = await subscribe({ active: true });
    await sql(rt.database.dataSource,
      "UPDATE outbound_webhooks SET active = false, disabled_at = now(), disabled_reason = 'failing', failing_since = now() WHERE id = $1", [hook.id]);
    const res = await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, { active: true });
    expect(res.body).toMatchObject({ active: true, disabled_at: null, disabled_reason: null, failing_since: null });
  });
});

describe("DELETE /api/v1/outbound-webhooks/:id", () => {
  it("removes it from reads, erases its secret and key, keeps its delivery log readable, and is idempotent", async () => {
    const hook = await subscribe({ api_key: "oc_gone" });
    expect((await api.delete(`/api/v1/outbound-webhooks/${hook.id}`)).status).toBe(204);
    expect((await api.delete(`/api/v1/outbound-webhooks/${hook.id}`)).status).toBe(204);
    expect((await api.get(`/api/v1/outbound-webhooks/${hook.id}`)).status).toBe(404);
    expect((await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, { active: true })).status).toBe(404);
    expect((await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`)).status).toBe(404);
    expect((await api.get("/api/v1/outbound-webhooks?limit=200")).body.data.map((w: { id: string }) => w.id)).not.toContain(hook.id);
    expect((await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries`)).body).toEqual({ data: [], next_cursor: null });
    expect(await row(hook.id)).toMatchObject({ active: false, secret: null, previous_secret: null, api_key: null });
    expect((await globexApi.delete(`/api/v1/outbound-webhooks/${hook.id}`)).status).toBe(404);
  });
});

describe("POST /api/v1/outbound-webhooks/:id/regenerate-secret", () => {
  it("replaces the secret; grace_seconds keeps the old one signing for that long", async () => {
    const hook = await subscribe();
    const plain = await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ id: hook.id, secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) });
    expect(plain.body.secret).not.toBe(hook.secret);
    expect(await opened(hook.id)).toMatchObject({ secret: plain.body.secret, previous_secret: null, previous_secret_expires_at: null });

    const graced = await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`, { grace_seconds: 3600 });
    expect(await row(hook.id)).toMatchObject({ secret: expect.stringMatching(/^enc:v1:/), previous_secret: expect.stringMatching(/^enc:v1:/) });
    const stored = await opened(hook.id);
    expect(stored).toMatchObject({ secret: graced.body.secret, previous_secret: plain.body.secret });
    expect(stored.previous_secret_expires_at.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect((await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`, { grace_seconds: -1 })).status).toBe(400);
    expect((await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`, { grace_seconds: 8 * 24 * 3600 })).status).toBe(400);
  });

  it("two rotations at once: the secret in force is the one the last of them returned", async () => {
    const hook = await subscribe();
    const results = await Promise.all([1, 2, 3].map(() => api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`, { grace_seconds: 60 })));
    const secrets = results.map((r) => r.body.secret as string);
    expect(new Set(secrets).size).toBe(3);
    const stored = await opened(hook.id);
    expect(secrets).toContain(stored.secret);
    expect(secrets).toContain(stored.previous_secret);
  });
});

describe("fan-out", () => {
  it("makes no delivery for an inactive subscription, another team's, or an event it did not ask for", async () => {
    const tenant = await createTenant(rt, "fanout");
    const tenantApi = apiClient(rt, tenant.apiKey);
    const other = await ensureTeam(rt.database.dataSource, { orgId: tenant.orgId, slug: "other" });
    const create = (body: Record<string, unknown>) => tenantApi.post("/api/v1/outbound-webhooks", { url: LOCAL_URL, ...body });
    const inactive = (await create({ events: ["*"], active: false })).body;
    const otherTeam = (await create({ events: ["*"], team_id: other.id })).body;
    const completedOnly = (await create({ events: ["task.completed"] })).body;
    const task = await tenantApi.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "quiet" });
    expect(task.status).toBe(201);
    const count = async (id: string) =>
      (await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM outbound_deliveries WHERE outbound_webhook_id = $1", [id])).rows[0]!.n;
    expect([await count(inactive.id), await count(otherTeam.id), await count(completedOnly.id)]).toEqual([0, 0, 0]);
  });
});

describe("turning a subscription off", () => {
  it("ends its notifications waiting for a retry, whether turned off or deleted", async () => {
    const tenant = await createTenant(rt, "turned-off");
    const tenantApi = apiClient(rt, tenant.apiKey);
    const paused = (await tenantApi.post("/api/v1/outbound-webhooks", { url: LOCAL_URL, events: ["task.created"] })).body;
    const removed = (await tenantApi.post("/api/v1/outbound-webhooks", { url: LOCAL_URL, events: ["task.created"] })).body;
    expect((await tenantApi.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "unheard" })).status).toBe(201);
    const retrying = async (id: string) => {
      const found = await waitFor(async () => {
        const d = (await tenantApi.get(`/api/v1/outbound-webhooks/${id}/deliveries`)).body.data[0];
        return d?.status === "failed" ? d : undefined;
      }, 10_000, "a failed first attempt");
      expect(found).toMatchObject({ attempts: 1, last_response_code: null, next_attempt_at: expect.any(String) });
      expect(found.last_error).toMatch(/^ECONNREFUSED/);
    };
    await retrying(paused.id);
    await retrying(removed.id);

    expect((await tenantApi.patch(`/api/v1/outbound-webhooks/${paused.id}`, { active: false })).status).toBe(200);
    expect((await tenantApi.delete(`/api/v1/outbound-webhooks/${removed.id}`)).status).toBe(204);
    const [pausedLog] = (await tenantApi.get(`/api/v1/outbound-webhooks/${paused.id}/deliveries`)).body.data;
    expect(pausedLog).toMatchObject({ status: "dead", attempts: 1, next_attempt_at: null });
    expect(pausedLog.last_error).toMatch(/^ECONNREFUSED.*; the outbound webhook is inactive$/);
    const [removedLog] = (await tenantApi.get(`/api/v1/outbound-webhooks/${removed.id}/deliveries`)).body.data;
    expect(removedLog).toMatchObject({ status: "dead", next_attempt_at: null });
    expect(removedLog.last_error).toMatch(/; the outbound webhook was deleted$/);
  });
});

describe("the OpenAPI document", () => {
  it("lists every outbound webhook route under its tag, with a summary", async () => {
    const res = await rt.server.inject({ method: "GET", url: "/api/openapi.json" });
    const paths = res.json().paths as Record<string, Record<string, { tags?: string[]; summary?: string }>>;
    const routes = Object.entries(paths)
      .filter(([path]) => path.startsWith("/api/v1/outbound-webhooks"))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })));
    expect(routes.map((r) => r.route).sort()).toEqual([
      "DELETE /api/v1/outbound-webhooks/{id}",
      "GET /api/v1/outbound-webhooks",
      "GET /api/v1/outbound-webhooks/{id}",
      "GET /api/v1/outbound-webhooks/{id}/deliveries",
      "GET /api/v1/outbound-webhooks/{id}/deliveries/{delivery_id}",
      "PATCH /api/v1/outbound-webhooks/{id}",
      "POST /api/v1/outbound-webhooks",
      "POST /api/v1/outbound-webhooks/{id}/deliveries/{delivery_id}/redeliver",
      "POST /api/v1/outbound-webhooks/{id}/regenerate-secret",
    ].sort());
    for (const { op } of routes) {
      expect(op.tags).toEqual(["outbound-webhooks"]);
      expect(op.summary).toEqual(expect.any(String));
    }
  });
});
