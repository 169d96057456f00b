import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import { startReceiver, verifyEntourageSignature, type Receiver } from "../helpers/webhook-receiver.js";

let rt: TestRuntime;
let receiver: Receiver | undefined;

// PGlite takes seconds to start, more on a busy machine.
beforeAll(async () => {
  rt = await startTestRuntime({
    label: "outbound_embedded", services: false, env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1", OUTBOUND_BACKOFF_MS: "5" },
  });
}, 120_000);
afterAll(async () => {
  await rt?.stop();
  await receiver?.close();
});

describe("outbound webhooks on the embedded default (PGlite + in-process queue)", () => {
  it("notify, retry in order, and redeliver", async () => {
    receiver = await startReceiver((_request, index) => (index === 0 ? 500 : 200));
    const tenant = await createTenant(rt, "embedded-outbound");
    const api = apiClient(rt, tenant.apiKey);
    const hook = (await api.post("/api/v1/outbound-webhooks", { url: receiver.url(), events: ["*"] })).body;
    const task = (await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "embedded" })).body;
    expect((await api.post(`/api/v1/tasks/${task.id}/status`, { status: "cancelled" })).status).toBe(200);
    await waitFor(async () => receiver!.requests.filter((r) => r.answered === 200).length === 3, 10_000, "three notifications");
    expect(receiver.requests.map((r) => [r.json.event, r.answered])).toEqual([
      ["task.created", 500], ["task.created", 200], ["task.status_changed", 200], ["task.cancelled", 200],
    ]);
    for (const r of receiver.requests) expect(verifyEntourageSignature(hook.secret, r.rawBody, r.headers["x-entourage-signature"])).toBe(true);

    const created = receiver.requests[0]!.headers["x-entourage-delivery"];
    const again = await api.post(`/api/v1/outbound-webhooks/${hook.id}/deliveries/${created}/redeliver`);
    expect(again.status).toBe(202);
    await waitFor(async () => receiver!.requests.length === 5, 10_000, "the redelivery");
    expect(receiver.requests[4]!.headers["x-entourage-delivery"]).toBe(created);
    const rows = await waitFor(async () => {
      const result = await sql<{ event: string; status: string; attempts: number; redeliveries: number }>(rt.database.dataSource,
        "SELECT event, status, attempts, redeliveries FROM outbound_deliveries WHERE outbound_webhook_id = $1 ORDER BY seq", [hook.id]);
      return result.rows.every((r) => r.status === "delivered") ? result.rows : undefined;
    }, 5000, "the redelivery recorded");
    // The redelivered notification took a new place at the end of the task's line.
    expect(rows.map((r) => [r.event, r.status, r.attempts, r.redeliveries])).toEqual([
      ["task.status_changed", "delivered", 1, 0],
      ["task.cancelled", "delivered", 1, 0],
      ["task.created", "delivered", 1, 1],
    ]);
  });
});
