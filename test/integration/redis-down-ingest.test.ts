import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";

let rt: TestRuntime;

beforeAll(async () => {
  // Nothing listens on port 1: the queue is down from the start.
  rt = await startTestRuntime({ label: "redis_down", env: { REDIS_URL: "redis://127.0.0.1:1", ROLE: "all" } });
  await createTenant(rt, "acme", "acme-corp");
});
afterAll(async () => {
  await rt?.stop();
});

describe("Redis down", () => {
  it("still answers 202 quickly for every delivery, because each is stored in Postgres first", async () => {
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const signed = signedDelivery(APP_WEBHOOK_SECRET, "issues", issueOpened({ owner: "acme-corp", number: i + 1, installationId: 2 }));
      return rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
    }));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(202));
    expect(Date.now() - started).toBeLessThan(15_000);
    const ids = answers.map((a) => a.json().delivery_id);
    const stored = await sql<{ status: string }>(rt.database.dataSource, "SELECT status FROM webhook_deliveries WHERE id = ANY($1::uuid[])", [ids]);
    expect(stored.rows).toHaveLength(20);
    expect(stored.rows.every((r) => r.status === "received")).toBe(true);
    const health = await rt.server.inject({ method: "GET", url: "/api/v1/health" });
    expect([health.statusCode, health.json()]).toEqual([503, { status: "degraded", postgres: true, redis: false }]);
  });
});
