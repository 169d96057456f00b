import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { sql } from "../../src/db/sql.js";
import { createOutboundWebhook } from "../../src/domain/outbound-webhooks.js";
import { registrationCheck, urlGuard } from "../../src/outbound/url-guard.js";
import { createTenant, startTestRuntime, TEST_ENCRYPTION_KEY, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver.js";

let rt: TestRuntime;
const receivers: Receiver[] = [];

beforeAll(async () => {
  rt = await startTestRuntime({
    label: "outbound_metrics",
    // One try per job, so a failing job counts exactly one failure; outbound attempts are jobs of their own anyway.
    env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1", OUTBOUND_BACKOFF_MS: "1", JOB_ATTEMPTS: "1" },
  });
});
afterAll(async () => {
  await rt?.stop();
  for (const receiver of receivers) await receiver.close();
});

/** The value of one series in GET /metrics; 0 when it has not been counted yet. */
async function metric(series: string): Promise<number> {
  const text = (await rt.server.inject({ method: "GET", url: "/metrics" })).body;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const attempts = (result: string) => metric(`entourage_outbound_attempts_total{result="${result}"}`);

async function deliveryOf(hookId: string) {
  return (await sql<{ status: string; attempts: number }>(rt.database.dataSource,
    "SELECT status, attempts FROM outbound_deliveries WHERE outbound_webhook_id = $1", [hookId])).rows[0];
}

describe("entourage_outbound_attempts_total", () => {
  it("counts a failed attempt and the delivered one after it", async () => {
    const receiver = await startReceiver((_request, index) => (index === 0 ? 500 : 200));
    receivers.push(receiver);
    const tenant = await createTenant(rt, "counted");
    const api = apiClient(rt, tenant.apiKey);
    const hook = (await api.post("/api/v1/outbound-webhooks", { url: receiver.url(), events: ["task.created"] })).body;
    await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "count me" });
    await waitFor(async () => (await deliveryOf(hook.id))?.status === "delivered", 10_000, "delivered after a retry");

    expect(receiver.requests.map((r) => r.answered)).toEqual([500, 200]);
    expect({ failed: await attempts("failed"), delivered: await attempts("delivered"), refused: await attempts("refused") })
      .toEqual({ failed: 1, delivered: 1, refused: 0 });
    // A receiver's 500 is a recorded attempt, not a failed job.
    expect(await metric('entourage_job_failures_total{job="outbound"}')).toBe(0);
  });

  it("counts an attempt the URL guard refused at send time as refused, and sends nothing", async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const tenant = await createTenant(rt, "refused");
    const api = apiClient(rt, tenant.apiKey);
    // Registered while its DNS answered a public address; at send time localhost resolves to loopback.
    const publicThen = urlGuard({ lookup: async () => [{ address: "93.184.216.34", family: 4 }] });
    const { webhook } = await createOutboundWebhook(rt.database.dataSource, SecretBox.fromText(TEST_ENCRYPTION_KEY), registrationCheck(publicThen), {
      orgId: tenant.orgId, url: `https://localhost:${receiver.port}/hook`, events: ["task.created"],
    });
    await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "refuse me" });
    await waitFor(async () => ((await deliveryOf(webhook.id))?.attempts ?? 0) >= 2, 10_000, "two refused attempts");
    expect((await api.patch(`/api/v1/outbound-webhooks/${webhook.id}`, { active: false })).status).toBe(200);
    const dead = await waitFor(async () => {
      const row = await deliveryOf(webhook.id);
      return row?.status === "dead" ? row : undefined;
    }, 10_000, "the delivery ended");

    expect(await attempts("refused")).toBe(dead.attempts);
    expect({ failed: await attempts("failed"), delivered: await attempts("delivered") }).toEqual({ failed: 1, delivered: 1 });
    expect(receiver.connections).toBe(0);
  });
});

describe("entourage_job_failures_total", () => {
  it("counts a job that failed", async () => {
    expect(await metric('entourage_job_failures_total{job="outbound"}')).toBe(0);
    // Not a delivery id at all: the worker's first query fails, and the job with it.
    await rt.queue.add("outbound", { deliveryId: "not-a-uuid", series: 0, attempt: 1 }, { jobId: "outbound-not-a-uuid" });
    await waitFor(async () => (await metric('entourage_job_failures_total{job="outbound"}')) > 0, 10_000, "the failure counted");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await metric('entourage_job_failures_total{job="outbound"}')).toBe(1);
  });
});
