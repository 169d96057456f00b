import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { sql } from "../../src/db/sql.js";
import { newWebhookSecret } from "../../src/domain/secret-rotation.js";
import { startRuntime } from "../../src/runtime.js";
import { createTenant, startTestRuntime, TEST_ENCRYPTION_KEY, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import {
  startReceiver, verifiedByStandardWebhooksLibrary, verifyEntourageSignature, verifyStandardWebhook, type Receiver, type ReceivedRequest,
} from "../helpers/webhook-receiver.js";

let rt: TestRuntime;
let receiver: Receiver;
let tenants = 0;
const box = SecretBox.fromText(TEST_ENCRYPTION_KEY);

beforeAll(async () => {
  rt = await startTestRuntime({ label: "outbound_secrets", env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1" } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await rt?.stop();
  await receiver?.close();
});

interface StoredSecrets {
  secret: string | null;
  previous_secret: string | null;
  api_key: string | null;
}

async function stored(id: string): Promise<StoredSecrets> {
  return (await sql<StoredSecrets>(rt.database.dataSource, "SELECT secret, previous_secret, api_key FROM outbound_webhooks WHERE id = $1", [id])).rows[0]!;
}

/** A fresh organization subscribed to its task.created notifications, with an API key to send. */
async function subscribed(apiKey: string): Promise<{ tenant: Tenant; api: ReturnType<typeof apiClient>; hook: { id: string; secret: string } }> {
  tenants += 1;
  const tenant = await createTenant(rt, `secrets-${tenants}`);
  const api = apiClient(rt, tenant.apiKey);
  const res = await api.post("/api/v1/outbound-webhooks", { url: receiver.url(`/hook-${tenants}`), events: ["task.created"], api_key: apiKey });
  expect(res.status).toBe(201);
  return { tenant, api, hook: res.body };
}

/** Creates a task and waits for its task.created notification at the receiver. */
async function notified(tenant: Tenant, api: ReturnType<typeof apiClient>, path: string): Promise<ReceivedRequest> {
  const before = receiver.requests.filter((r) => r.path === path).length;
  expect((await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "sealed" })).status).toBe(201);
  return waitFor(async () => receiver.requests.filter((r) => r.path === path)[before], 10_000, `a notification at ${path}`);
}

describe("outbound secrets at rest", () => {
  it("stores the secret and the API key sealed; the notification still verifies with the secret shown once", async () => {
    const { tenant, api, hook } = await subscribed("oc_sealed_key");
    const row = await stored(hook.id);
    expect(row.secret).toMatch(/^enc:v1:/);
    expect(row.api_key).toMatch(/^enc:v1:/);
    expect(JSON.stringify(row)).not.toContain(hook.secret.slice(6));
    expect(JSON.stringify(row)).not.toContain("oc_sealed_key");

    const request = await notified(tenant, api, `/hook-${tenants}`);
    expect(request.headers["x-api-key"]).toBe("oc_sealed_key");
    expect(verifyEntourageSignature(hook.secret, request.rawBody, request.headers["x-entourage-signature"])).toBe(true);
    expect(verifyStandardWebhook(hook.secret, request)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(hook.secret, request)).toBe(true);
  });

  it("keeps a rotation's previous secret sealed, and signs with both during the grace period", async () => {
    const { tenant, api, hook } = await subscribed("oc_rotated_key");
    const rotated = (await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`, { grace_seconds: 600 })).body.secret as string;
    const row = await stored(hook.id);
    expect(row.previous_secret).toMatch(/^enc:v1:/);
    expect(box.open(row.previous_secret!)).toBe(hook.secret);
    expect(box.open(row.secret!)).toBe(rotated);

    const request = await notified(tenant, api, `/hook-${tenants}`);
    expect(String(request.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verifiedByStandardWebhooksLibrary(rotated, request)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(hook.secret, request)).toBe(true);
    expect(verifyEntourageSignature(rotated, request.rawBody, request.headers["x-entourage-signature"])).toBe(true);
  });

  it("sends from a row stored in clear, and seals it when a process starts", async () => {
    const { tenant, api, hook } = await subscribed("oc_ignored");
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    // A row as written before encryption: every secret column in clear.
    await sql(rt.database.dataSource,
      `UPDATE outbound_webhooks SET secret = $2, previous_secret = $3, previous_secret_expires_at = now() + interval '1 hour', api_key = 'oc_clear_key'
        WHERE id = $1`,
      [hook.id, current, previous]);
    const path = `/hook-${tenants}`;
    const before = await notified(tenant, api, path);
    expect(before.headers["x-api-key"]).toBe("oc_clear_key");
    expect(verifyEntourageSignature(current, before.rawBody, before.headers["x-entourage-signature"])).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(current, before)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(previous, before)).toBe(true);

    // Another process (a web process here) starting on the same database seals what it finds in clear.
    const web = await startRuntime({ ...rt.config, role: "web" }, rt.log, { listen: false });
    await web.close();
    const row = await stored(hook.id);
    expect(row).toEqual({
      secret: expect.stringMatching(/^enc:v1:/), previous_secret: expect.stringMatching(/^enc:v1:/), api_key: expect.stringMatching(/^enc:v1:/),
    });
    expect(JSON.stringify(row)).not.toContain(current.slice(6));
    expect({ secret: box.open(row.secret!), previous_secret: box.open(row.previous_secret!), api_key: box.open(row.api_key!) })
      .toEqual({ secret: current, previous_secret: previous, api_key: "oc_clear_key" });

    const after = await notified(tenant, api, path);
    expect(after.headers["x-api-key"]).toBe("oc_clear_key");
    expect(verifyEntourageSignature(current, after.rawBody, after.headers["x-entourage-signature"])).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(current, after)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(previous, after)).toBe(true);
  });
});
