import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import { startReceiver, verifyEntourageSignature, verifyStandardWebhook, type Receiver } from "../helpers/webhook-receiver.js";

let rt: TestRuntime;
const receivers: Receiver[] = [];

const DISABLE_AFTER_MS = 400;

beforeAll(async () => {
  rt = await startTestRuntime({
    label: "outbound_disable",
    // Retries at about 20, 86, 370 ms…: the streak passes DISABLE_AFTER_MS within the first few attempts.
    env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1", OUTBOUND_BACKOFF_MS: "20", OUTBOUND_DISABLE_AFTER_MS: String(DISABLE_AFTER_MS) },
  });
});
afterAll(async () => {
  await rt?.stop();
  for (const receiver of receivers) await receiver.close();
});

describe("a subscription that keeps failing", () => {
  it("is turned off, and the organization's other subscriptions asking for delivery.failed are told", async () => {
    const failing = await startReceiver(() => 503);
    const watcher = await startReceiver();
    const bystander = await startReceiver();
    receivers.push(failing, watcher, bystander);
    const tenant = await createTenant(rt, "failing");
    const api = apiClient(rt, tenant.apiKey);
    const subscribe = async (url: string, events: string[]) => {
      const res = await api.post("/api/v1/outbound-webhooks", { url, events });
      expect(res.status).toBe(201);
      return res.body as { id: string; secret: string };
    };
    const broken = await subscribe(failing.url(), ["task.created"]);
    const watching = await subscribe(watcher.url(), ["delivery.failed"]);
    await subscribe(bystander.url(), ["task.created"]);
    const other = await createTenant(rt, "elsewhere");
    const outsider = await startReceiver();
    receivers.push(outsider);
    expect((await apiClient(rt, other.apiKey).post("/api/v1/outbound-webhooks", { url: outsider.url(), events: ["*"] })).status).toBe(201);

    const task = await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "will not arrive" });
    expect(task.status).toBe(201);
    await waitFor(async () => watcher.requests.length === 1, 15_000, "delivery.failed");

    const shown = (await api.get(`/api/v1/outbound-webhooks/${broken.id}`)).body;
    expect(shown).toMatchObject({ active: false, disabled_at: expect.any(String), failing_since: expect.any(String), last_success_at: null });
    expect(shown.disabled_reason).toMatch(/^failing since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ with no successful delivery$/);
    expect(new Date(shown.disabled_at).getTime() - new Date(shown.failing_since).getTime()).toBeGreaterThanOrEqual(DISABLE_AFTER_MS - 1000);

    const notice = watcher.requests[0]!;
    expect(notice.headers["x-entourage-event"]).toBe("delivery.failed");
    expect(verifyEntourageSignature(watching.secret, notice.rawBody, notice.headers["x-entourage-signature"])).toBe(true);
    expect(verifyStandardWebhook(watching.secret, notice)).toBe(true);
    expect(notice.json).toMatchObject({
      event: "delivery.failed",
      task_id: null,
      team_id: null,
      data: {
        outbound_webhook_id: broken.id,
        url: failing.url(),
        failing_since: shown.failing_since,
        disabled_at: shown.disabled_at,
        last_response_code: 503,
        last_error: expect.stringMatching(/^HTTP 503/),
      },
    });
    // The failing subscription's own notification goes no further.
    const dead = await waitFor(async () => {
      const row = (await sql<{ status: string; last_error: string }>(rt.database.dataSource,
        "SELECT status, last_error FROM outbound_deliveries WHERE outbound_webhook_id = $1", [broken.id])).rows[0];
      return row?.status === "dead" ? row : undefined;
    }, 15_000, "the failing delivery to be dead");
    expect(dead.last_error).toMatch(/^HTTP 503 Service Unavailable: receiver says 503; the outbound webhook is inactive$/);
    const attemptsMade = failing.requests.length;
    expect(attemptsMade).toBeGreaterThanOrEqual(2);
    expect(attemptsMade).toBeLessThan(8);
    // Told once; the bystander (not asking for delivery.failed) and the other organization hear nothing of it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watcher.requests).toHaveLength(1);
    expect(bystander.requests.map((r) => r.json.event)).toEqual(["task.created"]);
    expect(outsider.requests).toHaveLength(0);
    expect(failing.requests).toHaveLength(attemptsMade);

    // Turned on again, it starts with a clean record and is sent to again.
    const again = await api.patch(`/api/v1/outbound-webhooks/${broken.id}`, { active: true });
    expect(again.body).toMatchObject({ active: true, disabled_at: null, disabled_reason: null, failing_since: null });
  });

  it("is not turned off while successes keep coming", async () => {
    let calls = 0;
    // Every other notification fails: the failure streak never lasts.
    const flaky = await startReceiver(() => (calls++ % 2 === 0 ? 500 : 200));
    receivers.push(flaky);
    const tenant = await createTenant(rt, "flaky");
    const api = apiClient(rt, tenant.apiKey);
    const hook = (await api.post("/api/v1/outbound-webhooks", { url: flaky.url(), events: ["task.created"] })).body;
    for (let i = 0; i < 3; i += 1) {
      expect((await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: `t${i}` })).status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await waitFor(async () => {
      const rows = (await sql<{ status: string }>(rt.database.dataSource,
        "SELECT status FROM outbound_deliveries WHERE outbound_webhook_id = $1", [hook.id])).rows;
      return rows.length === 3 && rows.every((r) => r.status === "delivered");
    }, 15_000, "three delivered");
    expect((await api.get(`/api/v1/outbound-webhooks/${hook.id}`)).body).toMatchObject({ active: true, failing_since: null, disabled_at: null });
  });
});
