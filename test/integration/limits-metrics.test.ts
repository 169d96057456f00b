import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "limits_metrics", env: { RATE_LIMIT_MAX: "5", RATE_LIMIT_WINDOW_MS: "60000" } });
  acme = await createTenant(rt, "acme", "acme-corp");
});
afterAll(async () => {
  await rt?.stop();
});

describe("rate limits on the REST API", () => {
  it("answer 429 with Retry-After past the limit of one key, and count each key (and each address) apart", async () => {
    const get = (headers: Record<string, string>) => rt.server.inject({ method: "GET", url: "/api/v1/webhooks", headers });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await get({ "x-api-key": acme.apiKey }));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = answers[5]!;
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.json()).toEqual({ error: { code: "rate_limited", message: expect.stringMatching(/^rate limit of 5 requests per 60 s exceeded/) } });
    const other = await createTenant(rt, "other");
    expect((await get({ "x-api-key": other.apiKey })).statusCode).toBe(200);
    // Without a key, the client address is counted.
    const anonymous = [];
    for (let i = 0; i < 6; i++) anonymous.push((await rt.server.inject({ method: "GET", url: "/api/v1/tasks/1", remoteAddress: "203.0.113.9" })).statusCode);
    expect(anonymous).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it("leave the webhook endpoints and health alone", async () => {
    for (let i = 0; i < 8; i++) expect((await rt.server.inject({ method: "GET", url: "/api/v1/health" })).statusCode).toBe(200);
    for (let i = 0; i < 7; i++) {
      expect((await deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", number: 70 + i, installationId: 1 }))).status).toBe("processed");
    }
  });
});

describe("GET /metrics", () => {
  it("counts deliveries by event and status, processing time, queue depth and job failures, in Prometheus text", async () => {
    // A worker counts a delivery just after its final status is committed, so the count may trail the row.
    const res = await waitFor(async () => {
      const answer = await rt.server.inject({ method: "GET", url: "/metrics" });
      return answer.body.includes('entourage_deliveries_finished_total{event="issues.opened",status="processed"} 7') && answer;
    }, 10_000, "seven finished deliveries in /metrics");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    const text = res.body;
    expect(text).toContain('entourage_deliveries_received_total{event="issues.opened",result="received"} 7');
    expect(text).toContain('entourage_deliveries_finished_total{event="issues.opened",status="processed"} 7');
    expect(text).toMatch(/entourage_delivery_processing_seconds_count\{event="issues.opened"\} 7/);
    expect(text).toMatch(/entourage_queue_jobs\{job="process-delivery",state="waiting"\} \d+/);
    expect(text).toContain("# TYPE entourage_job_failures_total counter");
    expect(text).toContain("# TYPE entourage_outbound_attempts_total counter");
    expect(text).not.toContain(acme.apiKey);
  });
});
