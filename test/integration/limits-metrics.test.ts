import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { testRandom } from "../helpers/random.js";
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

  it("count guessed keys by client address, before checking them, while a proven key keeps its own count", async () => {
    const guesser = "198.51.100.7";
    const get = (key: string) => rt.server.inject({ method: "GET", url: "/api/v1/webhooks", headers: { "x-api-key": key }, remoteAddress: guesser });
    const proven = await createTenant(rt, "proven");
    expect((await get(proven.apiKey)).statusCode).toBe(200);
    const guesses = [];
    for (let i = 0; i < 10; i++) guesses.push((await get(`oc_guess-${i}-${testRandom().hex(6)}`)).statusCode);
    // The proven key's first request was counted by address too: four guesses are left in the window.
    expect(guesses).toEqual([401, 401, 401, 401, 429, 429, 429, 429, 429, 429]);
    // A right guess from that address is refused the same way, so it tells the guesser nothing.
    const unproven = await createTenant(rt, "unproven");
    const rightGuess = await get(unproven.apiKey);
    expect(rightGuess.statusCode).toBe(429);
    expect(Number(rightGuess.headers["retry-after"])).toBeGreaterThan(0);
    expect(rightGuess.json().error.code).toBe("rate_limited");
    // Bearer tokens are counted the same way.
    const bearer = await rt.server.inject({ method: "GET", url: "/api/v1/webhooks", headers: { authorization: "Bearer not.a.token" }, remoteAddress: guesser });
    expect(bearer.statusCode).toBe(429);
    expect((await get(proven.apiKey)).statusCode).toBe(200);
    // Without TRUST_PROXY, X-Forwarded-For is the client's word and does not open a new count.
    const forwarded = await rt.server.inject({
      method: "GET", url: "/api/v1/webhooks", headers: { "x-api-key": "oc_guess-forwarded", "x-forwarded-for": "192.0.2.1" }, remoteAddress: guesser,
    });
    expect(forwarded.statusCode).toBe(429);
  });

  it("leave the webhook endpoints and health alone", async () => {
    for (let i = 0; i < 8; i++) expect((await rt.server.inject({ method: "GET", url: "/api/v1/health" })).statusCode).toBe(200);
    for (let i = 0; i < 7; i++) {
      expect((await deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", number: 70 + i, installationId: 1 }))).status).toBe("processed");
    }
  });
});

describe("TRUST_PROXY", () => {
  let proxied: TestRuntime;
  beforeAll(async () => {
    proxied = await startTestRuntime({ label: "trust_proxy", env: { RATE_LIMIT_MAX: "2", TRUST_PROXY: "127.0.0.1" } });
  });
  afterAll(async () => {
    await proxied?.stop();
  });

  it("tells apart the clients that the trusted proxy names in X-Forwarded-For, and believes no one else", async () => {
    const get = (remoteAddress: string, forwardedFor?: string) => proxied.server.inject({
      method: "GET", url: "/api/v1/tasks/1", remoteAddress, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {},
    });
    const statuses = async (remoteAddress: string, forwardedFor?: string) => {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await get(remoteAddress, forwardedFor)).statusCode);
      return answers;
    };
    expect(await statuses("127.0.0.1", "203.0.113.1")).toEqual([401, 401, 429]);
    expect(await statuses("127.0.0.1", "203.0.113.2")).toEqual([401, 401, 429]);
    // Another peer is not the proxy: its X-Forwarded-For is ignored and the peer itself is counted.
    expect(await statuses("192.0.2.9", "203.0.113.3")).toEqual([401, 401, 429]);
    expect((await get("192.0.2.9", "203.0.113.4")).statusCode).toBe(429);
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
