import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { createOutboundWebhook } from "../../src/domain/outbound-webhooks.js";
import { newWebhookSecret } from "../../src/domain/secret-rotation.js";
import { registrationCheck, urlGuard } from "../../src/outbound/url-guard.js";
import { RetryLaterError } from "../../src/queue/queue.js";
import { sendOutbound } from "../../src/queue/workers/outbound.js";
import { createTenant, startTestRuntime, TEST_ENCRYPTION_KEY, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import {
  startReceiver, verifiedByStandardWebhooksLibrary, verifyEntourageSignature, verifyStandardWebhook, type Answer, type Receiver,
  type ReceivedRequest,
} from "../helpers/webhook-receiver.js";

let rt: TestRuntime;
const receivers: Receiver[] = [];
let tenants = 0;

const TIMEOUT_MS = 500;
const box = SecretBox.fromText(TEST_ENCRYPTION_KEY);

beforeAll(async () => {
  rt = await startTestRuntime({
    label: "outbound_delivery",
    // A 1 ms first delay keeps all 8 attempts within about 8 s.
    env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1", OUTBOUND_BACKOFF_MS: "1", OUTBOUND_TIMEOUT_MS: String(TIMEOUT_MS) },
  });
});
afterAll(async () => {
  await rt?.stop();
  for (const receiver of receivers) await receiver.close();
});

async function receiver(answer?: (request: ReceivedRequest, index: number) => Answer): Promise<Receiver> {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
}

/** A fresh organization (so no other test's subscription hears its tasks) subscribed to `url`. */
async function subscribed(url: string, body: Record<string, unknown> = {}) {
  tenants += 1;
  const tenant = await createTenant(rt, `outbound-${tenants}`);
  const api = apiClient(rt, tenant.apiKey);
  const res = await api.post("/api/v1/outbound-webhooks", { url, events: ["*"], ...body });
  expect(res.status).toBe(201);
  return { tenant, api, hook: res.body as { id: string; secret: string } };
}

async function newTask(tenant: Tenant, api: ReturnType<typeof apiClient>, body: Record<string, unknown> = {}): Promise<number> {
  const res = await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "Ship outbound webhooks", ...body });
  expect(res.status).toBe(201);
  return res.body.id;
}

interface DeliveryRow {
  id: string;
  event: string;
  task_id: number | null;
  status: string;
  attempts: number;
  redeliveries: number;
  last_response_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
}

async function deliveries(hookId: string): Promise<DeliveryRow[]> {
  return (await sql<DeliveryRow>(rt.database.dataSource, "SELECT * FROM outbound_deliveries WHERE outbound_webhook_id = $1 ORDER BY seq", [hookId])).rows;
}

async function settledDelivery(hookId: string, event: string, status: string, timeoutMs = 15_000): Promise<DeliveryRow> {
  return waitFor(async () => (await deliveries(hookId)).find((d) => d.event === event && d.status === status), timeoutMs, `${event} ${status}`);
}

describe("a notification", () => {
  it("carries the event as JSON with every header, both signatures verifying with the shared secret", async () => {
    const inbox = await receiver();
    const { tenant, api, hook } = await subscribed(inbox.url(), { api_key: "oc_receiver_key" });
    const agent = await api.post(`/api/v1/teams/${tenant.teamId}/agents`, { name: "builder", role: "engineer" });
    expect(agent.status).toBe(201);
    const taskId = await newTask(tenant, api, { assignee_id: agent.body.id });
    await waitFor(async () => inbox.ofEvent("task.dispatched").length === 1, 10_000, "task.dispatched");
    expect((await api.post(`/api/v1/tasks/${taskId}/status`, { status: "in_progress" })).status).toBe(200);
    await waitFor(async () => inbox.requests.length === 4, 10_000, "four notifications");
    await waitFor(async () => (await deliveries(hook.id)).every((d) => d.status === "delivered"), 5000, "four deliveries recorded");

    expect(inbox.requests.map((r) => r.json.event)).toEqual(["task.created", "task.assigned", "task.dispatched", "task.status_changed"]);
    for (const request of inbox.requests) {
      expect(request.method).toBe("POST");
      expect(request.path).toBe("/entourage-webhook");
      expect(request.headers).toMatchObject({
        "content-type": "application/json",
        "x-entourage-event": request.json.event,
        "x-api-key": "oc_receiver_key",
        "webhook-id": request.headers["x-entourage-delivery"],
      });
      expect(request.headers["x-entourage-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(request.headers["x-entourage-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
      expect(verifyEntourageSignature(hook.secret, request.rawBody, request.headers["x-entourage-signature"])).toBe(true);
      expect(verifyStandardWebhook(hook.secret, request)).toBe(true);
      expect(verifiedByStandardWebhooksLibrary(hook.secret, request)).toBe(true);
      // A wrong secret or a changed byte fails both.
      expect(verifyEntourageSignature(`${hook.secret}x`, request.rawBody, request.headers["x-entourage-signature"])).toBe(false);
      expect(verifiedByStandardWebhooksLibrary(newWebhookSecret(), request)).toBe(false);
      const tampered = Buffer.from(request.rawBody.toString("utf8").replace(`"task_id":${taskId}`, `"task_id":${taskId + 1}`));
      expect(verifyEntourageSignature(hook.secret, tampered, request.headers["x-entourage-signature"])).toBe(false);
      expect(verifyStandardWebhook(hook.secret, { headers: request.headers, rawBody: tampered })).toBe(false);
      expect(verifiedByStandardWebhooksLibrary(hook.secret, { headers: request.headers, rawBody: tampered })).toBe(false);
      expect(Object.keys(request.json)).toEqual(["event", "task_id", "team_id", "timestamp", "data"]);
      expect(request.json).toMatchObject({ task_id: taskId, team_id: tenant.teamId });
      expect(new Date(request.json.timestamp).getTime()).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(new Set(inbox.requests.map((r) => r.headers["x-entourage-delivery"])).size).toBe(4);
    const [created, assigned, dispatched, moved] = inbox.requests.map((r) => r.json.data);
    expect(created).toMatchObject({ status: "todo", title: "Ship outbound webhooks" });
    expect(assigned).toEqual({ agent_id: agent.body.id, agent_name: "builder" });
    expect(dispatched).toMatchObject({ agent_id: agent.body.id });
    expect(moved).toEqual({ from: "todo", to: "in_progress" });

    const log = await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body.data.map((d: Record<string, unknown>) => [d.event, d.status, d.attempts, d.last_response_code, d.task_id])).toEqual([
      ["task.status_changed", "delivered", 1, 200, taskId],
      ["task.dispatched", "delivered", 1, 200, taskId],
      ["task.assigned", "delivered", 1, 200, taskId],
      ["task.created", "delivered", 1, 200, taskId],
    ]);
    expect(log.body.data[0]).not.toHaveProperty("body");
    const sent = inbox.requests[3]!;
    const detail = await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries/${sent.headers["x-entourage-delivery"]}`);
    expect(detail.body).toMatchObject({ id: sent.headers["x-entourage-delivery"], status: "delivered", payload: sent.json });
    expect((await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries?status=failed`)).body.data).toEqual([]);
    expect((await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries?event=task.assigned`)).body.data).toHaveLength(1);
    const paged = await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries?limit=3`);
    const rest = await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries?limit=3&cursor=${paged.body.next_cursor}`);
    expect(rest.body).toEqual({ data: [expect.objectContaining({ event: "task.created" })], next_cursor: null });
    expect((await api.get(`/api/v1/outbound-webhooks/${hook.id}`)).body.last_success_at).not.toBeNull();
  });

  it("is retried after 500s under the same delivery id until the receiver takes it", async () => {
    const inbox = await receiver((_request, index) => (index < 2 ? 500 : 200));
    const { tenant, api, hook } = await subscribed(inbox.url(), { events: ["task.created"] });
    await newTask(tenant, api);
    const delivered = await settledDelivery(hook.id, "task.created", "delivered");
    expect(delivered).toMatchObject({ attempts: 3, last_response_code: 200, last_error: null, next_attempt_at: null });
    expect(inbox.requests.map((r) => [r.headers["x-entourage-delivery"], r.answered])).toEqual([
      [delivered.id, 500], [delivered.id, 500], [delivered.id, 200],
    ]);
    for (const request of inbox.requests) expect(verifyStandardWebhook(hook.secret, request)).toBe(true);
    expect(new Set(inbox.requests.map((r) => r.rawBody.toString("utf8"))).size).toBe(1);
  });

  it("is retried after a receiver that never answers times out", async () => {
    let answering = false;
    const inbox = await receiver(() => (answering ? 200 : "hang"));
    const { tenant, api, hook } = await subscribed(inbox.url(), { events: ["task.created"] });
    await newTask(tenant, api);
    const timedOut = await waitFor(async () => {
      const [row] = await deliveries(hook.id);
      return row?.last_error === `no answer within ${TIMEOUT_MS} ms` ? row : undefined;
    }, 10_000, "a timed-out attempt");
    expect(timedOut).toMatchObject({ status: "failed", last_response_code: null });
    answering = true;
    const delivered = await settledDelivery(hook.id, "task.created", "delivered");
    expect(delivered.attempts).toBeGreaterThanOrEqual(2);
    expect(inbox.requests.length).toBe(delivered.attempts);
    expect(new Set(inbox.requests.map((r) => r.headers["x-entourage-delivery"]))).toEqual(new Set([delivered.id]));
  });

  it("is dead after its eighth failed attempt, each wait longer than the one before", async () => {
    const inbox = await receiver(() => 500);
    const { tenant, api, hook } = await subscribed(inbox.url(), { events: ["task.created"] });
    await newTask(tenant, api);
    const waiting = await waitFor(async () => {
      const [row] = await deliveries(hook.id);
      return row?.attempts === 7 && row.status === "failed" && row.next_attempt_at ? row : undefined;
    }, 15_000, "the seventh attempt");
    // The schedule is visible in the log while a retry waits: the eighth attempt is due 1 ms × 4.3⁶ ± 25 % after the seventh.
    expect(waiting.next_attempt_at!.getTime() - inbox.requests[6]!.receivedAt).toBeGreaterThan(4000);
    const listed = (await api.get(`/api/v1/outbound-webhooks/${hook.id}/deliveries?status=failed`)).body.data;
    expect(listed).toEqual([expect.objectContaining({ id: waiting.id, attempts: 7, last_response_code: 500, next_attempt_at: expect.any(String) })]);

    const dead = await settledDelivery(hook.id, "task.created", "dead", 20_000);
    expect(dead).toMatchObject({ attempts: 8, last_response_code: 500, next_attempt_at: null });
    expect(dead.last_error).toMatch(/^HTTP 500 Internal Server Error: receiver says 500$/);
    expect(inbox.requests).toHaveLength(8);
    const gaps = inbox.requests.slice(1).map((r, i) => r.receivedAt - inbox.requests[i]!.receivedAt);
    expect(gaps[6]!).toBeGreaterThan(gaps[5]!);
    expect(gaps[5]!).toBeGreaterThan(gaps[4]!);
    expect(gaps[6]!).toBeGreaterThan(4000);
    // Nothing more comes once it is dead.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(inbox.requests).toHaveLength(8);
    const subscription = (await api.get(`/api/v1/outbound-webhooks/${hook.id}`)).body;
    expect(subscription).toMatchObject({ active: true, last_success_at: null, failing_since: expect.any(String) });
  }, 40_000);
});

describe("ordering", () => {
  it("holds a task's later notifications while its first one is retried; other tasks go on", async () => {
    let slowTask: number | undefined;
    let failures = 0;
    const inbox = await receiver((request) => {
      if (request.json.event === "task.created") slowTask ??= request.json.task_id;
      if (request.json.event === "task.created" && request.json.task_id === slowTask && failures < 2) {
        failures += 1;
        return { status: 500, delayMs: 300 };
      }
      return 200;
    });
    const { tenant, api, hook } = await subscribed(inbox.url());
    const first = await newTask(tenant, api, { title: "first" });
    await waitFor(async () => inbox.requests.length >= 1, 5000, "the first attempt");
    const second = await newTask(tenant, api, { title: "second" });
    expect((await api.post(`/api/v1/tasks/${first}/status`, { status: "in_progress" })).status).toBe(200);
    expect((await api.post(`/api/v1/tasks/${first}/status`, { status: "cancelled" })).status).toBe(200);
    const movesDoneAt = Date.now();
    await waitFor(async () => {
      const rows = await deliveries(hook.id);
      return rows.length === 5 && rows.every((d) => d.status === "delivered");
    }, 10_000, "every notification delivered");

    const ofFirst = inbox.requests.filter((r) => r.json.task_id === first);
    expect(ofFirst.map((r) => [r.json.event, r.answered, r.json.data.to ?? null])).toEqual([
      ["task.created", 500, null],
      ["task.created", 500, null],
      ["task.created", 200, null],
      ["task.status_changed", 200, "in_progress"],
      ["task.status_changed", 200, "cancelled"],
      ["task.cancelled", 200, "cancelled"],
    ]);
    // The moves were made while the creation was still failing: their notifications waited for it.
    expect(ofFirst[2]!.receivedAt).toBeGreaterThan(movesDoneAt);
    const secondCreated = inbox.requests.find((r) => r.json.task_id === second)!;
    expect(secondCreated.answered).toBe(200);
    expect(secondCreated.receivedAt).toBeLessThan(ofFirst[2]!.receivedAt);
    const rows = (await deliveries(hook.id)).filter((d) => d.task_id === first);
    expect(rows.map((d) => [d.event, d.status, d.attempts])).toEqual([
      ["task.created", "delivered", 3],
      ["task.status_changed", "delivered", 1],
      ["task.status_changed", "delivered", 1],
      ["task.cancelled", "delivered", 1],
    ]);
  });
});

describe("the SSRF guard at send time", () => {
  it("sends nothing to a URL accepted at registration whose host now resolves to a private address", async () => {
    const inbox = await receiver();
    const tenant = await createTenant(rt, "rebinding");
    const api = apiClient(rt, tenant.apiKey);
    // Registered while its DNS answered a public address; the runtime's resolver now answers 127.0.0.1.
    const publicThen = urlGuard({ lookup: async () => [{ address: "93.184.216.34", family: 4 }] });
    const { webhook } = await createOutboundWebhook(rt.database.dataSource, box, registrationCheck(publicThen), {
      orgId: tenant.orgId, url: `https://localhost:${inbox.port}/entourage-webhook`, events: ["task.created"],
    });
    await newTask(tenant, api);
    const refused = await waitFor(async () => {
      const [row] = await deliveries(webhook.id);
      return row && row.attempts >= 2 ? row : undefined;
    }, 10_000, "two refused attempts");
    expect(refused).toMatchObject({ last_response_code: null });
    expect(refused.last_error).toMatch(/^refused, not sent: the host localhost resolves to 127\.0\.0\.1 \(loopback\)/);
    expect(inbox.connections).toBe(0);
  });
});

describe("POST …/deliveries/:delivery_id/redeliver", () => {
  it("sends the same body under the same delivery id again, as a new series of attempts", async () => {
    const inbox = await receiver();
    const { tenant, api, hook } = await subscribed(inbox.url(), { events: ["task.created"] });
    await newTask(tenant, api);
    const delivered = await settledDelivery(hook.id, "task.created", "delivered");
    const url = `/api/v1/outbound-webhooks/${hook.id}/deliveries/${delivered.id}/redeliver`;

    const agent = apiClient(rt, (await createApiKey(rt.database.dataSource, { orgId: tenant.orgId, name: "agent", role: "agent" })).key);
    expect((await agent.post(url)).status).toBe(403);
    const stranger = await createTenant(rt, "stranger");
    expect((await apiClient(rt, stranger.apiKey).post(url)).status).toBe(404);
    expect((await api.post(`/api/v1/outbound-webhooks/${hook.id}/deliveries/${hook.id}/redeliver`)).status).toBe(404);

    const res = await api.post(url);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: delivered.id, status: "pending", attempts: 0, redeliveries: 1, last_response_code: null });
    await waitFor(async () => inbox.requests.length === 2, 10_000, "the redelivery");
    const [original, again] = inbox.requests as [ReceivedRequest, ReceivedRequest];
    expect(again.headers["x-entourage-delivery"]).toBe(delivered.id);
    expect(again.headers["webhook-id"]).toBe(delivered.id);
    expect(again.rawBody.equals(original.rawBody)).toBe(true);
    expect(verifyEntourageSignature(hook.secret, again.rawBody, again.headers["x-entourage-signature"])).toBe(true);
    expect(verifyStandardWebhook(hook.secret, again)).toBe(true);
    const row = await waitFor(async () => (await deliveries(hook.id)).find((d) => d.status === "delivered" && d.redeliveries === 1), 5000, "delivered again");
    expect(row).toMatchObject({ attempts: 1, last_response_code: 200 });

    expect((await api.patch(`/api/v1/outbound-webhooks/${hook.id}`, { active: false })).status).toBe(200);
    const inactive = await api.post(url);
    expect({ status: inactive.status, code: inactive.body.error.code }).toEqual({ status: 409, code: "outbound_webhook_inactive" });
  });
});

describe("secret rotation", () => {
  it("signs webhook-signature with the old and the new secret during the grace period, X-Entourage-Signature with the new", async () => {
    const inbox = await receiver();
    const { tenant, api, hook } = await subscribed(inbox.url(), { events: ["task.created"] });
    const rotated = (await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`, { grace_seconds: 3600 })).body.secret as string;
    await newTask(tenant, api);
    await waitFor(async () => inbox.requests.length === 1, 10_000, "a notification");
    const during = inbox.requests[0]!;
    expect(String(during.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verifyStandardWebhook(rotated, during)).toBe(true);
    expect(verifyStandardWebhook(hook.secret, during)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(rotated, during)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(hook.secret, during)).toBe(true);
    expect(verifyEntourageSignature(rotated, during.rawBody, during.headers["x-entourage-signature"])).toBe(true);
    expect(verifyEntourageSignature(hook.secret, during.rawBody, during.headers["x-entourage-signature"])).toBe(false);

    const final = (await api.post(`/api/v1/outbound-webhooks/${hook.id}/regenerate-secret`)).body.secret as string;
    await newTask(tenant, api);
    await waitFor(async () => inbox.requests.length === 2, 10_000, "a second notification");
    const after = inbox.requests[1]!;
    expect(String(after.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(verifyStandardWebhook(final, after)).toBe(true);
    expect(verifyStandardWebhook(rotated, after)).toBe(false);
    expect(verifiedByStandardWebhooksLibrary(final, after)).toBe(true);
    expect(verifiedByStandardWebhooksLibrary(rotated, after)).toBe(false);
  });
});

describe("concurrency", () => {
  it("five workers running the same attempt at once send it once", async () => {
    const inbox = await receiver(() => ({ status: 200, delayMs: 300 }));
    const { tenant, api, hook } = await subscribed(inbox.url(), { events: ["task.created"] });
    await newTask(tenant, api);
    const [row] = await deliveries(hook.id);
    const handler = sendOutbound({
      db: rt.database.dataSource, log: rt.log, box, metrics: rt.metrics, guard: urlGuard({ allowedHosts: ["127.0.0.1"] }),
      timeoutMs: 2000, backoffMs: 1, disableAfterMs: 86_400_000,
    });
    const context = { jobId: "test", attempt: 1, maxAttempts: 1, isLastAttempt: true };
    const outcomes = await Promise.all(Array.from({ length: 5 }, () =>
      handler({ deliveryId: row!.id, series: 0, attempt: 1 }, context).then(() => "done", (error: unknown) => {
        if (error instanceof RetryLaterError) return "busy";
        throw error;
      })));
    expect(outcomes.every((o) => o === "done" || o === "busy")).toBe(true);
    await settledDelivery(hook.id, "task.created", "delivered");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(inbox.requests).toHaveLength(1);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: "delivered", attempts: 1 });
  });
});
