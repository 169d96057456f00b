import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { loadConfig } from "../../src/config.js";
import { REDACTED_PATHS } from "../../src/log.js";
import { REFUSAL_LINES_PER_WINDOW } from "../../src/http/refusal-log.js";
import { startRuntime, type Runtime } from "../../src/runtime.js";
import { APP_WEBHOOK_SECRET, createTenant, TEST_ENCRYPTION_KEY, type Tenant } from "../helpers/app-runtime.js";
import { FakeGitHub } from "../helpers/fake-github.js";
import { rawRequest } from "../helpers/http-client.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { testPrivateKey } from "../helpers/private-key.js";
import { createRedisPrefix, createTestDatabase, TEST_REDIS_URL, type TestDatabase } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const CLIENT = "203.0.113.7";
const WRONG_SECRET = "a-secret-the-sender-got-wrong";
const lines: string[] = [];
// As the app logs (same redaction), into this array, at debug so that the API's refusals show too.
const log = pino({ level: "debug", redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, { write: (line: string) => lines.push(line) });

let rt: Runtime;
let github: FakeGitHub;
let database: TestDatabase;
let redis: ReturnType<typeof createRedisPrefix>;
let dataDir: string;
let acme: Tenant;
let hook: { id: string; secret: string };

beforeAll(async () => {
  database = await createTestDatabase("refusal_log");
  redis = createRedisPrefix("refusal_log");
  dataDir = mkdtempSync(path.join(tmpdir(), "entourage-refusals-"));
  github = new FakeGitHub();
  const config = loadConfig({
    DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: redis.prefix, DATA_DIR: dataDir,
    APP_ID: "12345", PRIVATE_KEY: testPrivateKey(), WEBHOOK_SECRET: APP_WEBHOOK_SECRET,
    JWT_SECRET: "test-jwt-secret-that-is-long-enough-0123456789", ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: "debug",
  });
  rt = await startRuntime(config, log, { listen: false });
  acme = await createTenant(rt, "acme");
  hook = (await rt.server.inject({
    method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": acme.apiKey }, payload: { team_id: acme.teamId, name: "repo", events: ["issues"] },
  })).json();
});
afterAll(async () => {
  await rt?.close();
  github?.close();
  await database?.drop();
  await redis?.clean();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Line {
  level: number; msg: string; status?: number; code?: string; reason?: string; method?: string; route?: string; path?: string; delivery?: string; ip?: string;
  left_out?: number;
}

const parsed = (): Line[] => lines.map((l) => JSON.parse(l) as Line);
const refusals = (route: string, status: number) => parsed().filter((l) => l.msg.startsWith("refused") && l.route === route && l.status === status);
const TASKS = "/api/v1/teams/:team_id/tasks";
const tasksUrl = () => `/api/v1/teams/${acme.teamId}/tasks`;
const INFO = 30;
const DEBUG = 20;

/** A delivery signed with the wrong secret, from CLIENT. */
function badlySigned(url: string) {
  const signed = signedDelivery(WRONG_SECRET, "issues", issueOpened({ title: "never stored" }));
  return { deliveryId: signed.deliveryId, send: () => rt.server.inject({ method: "POST", url, headers: signed.headers, payload: signed.payload, remoteAddress: CLIENT }) };
}

describe("a refused request", () => {
  it("on the App endpoint: one info line with the reason, the delivery id and the address", async () => {
    const request = badlySigned("/api/github/webhooks");
    expect((await request.send()).statusCode).toBe(401);
    expect(refusals("/api/github/webhooks", 401)).toEqual([expect.objectContaining({
      level: INFO, status: 401, code: "unauthorized", reason: "X-Hub-Signature-256 is missing or does not match the body",
      method: "POST", delivery: request.deliveryId, ip: CLIENT,
    })]);
  });

  it("on a webhook's own endpoint: one info line, under the route's pattern rather than the webhook's id", async () => {
    const request = badlySigned(`/api/v1/webhooks/${hook.id}/receive`);
    expect((await request.send()).statusCode).toBe(401);
    expect(refusals("/api/v1/webhooks/:id/receive", 401)).toEqual([expect.objectContaining({
      level: INFO, code: "unauthorized", reason: "X-Hub-Signature-256 is missing or does not match the body", delivery: request.deliveryId, ip: CLIENT,
    })]);
  });

  it("on the API without a key, or with a bad one: a debug line each, without the key or the query string", async () => {
    const missing = await rt.server.inject({ method: "GET", url: `${tasksUrl()}?cursor=private-cursor`, remoteAddress: CLIENT });
    expect(missing.statusCode).toBe(401);
    const wrong = await rt.server.inject({ method: "GET", url: tasksUrl(), headers: { authorization: "Bearer oc_mistyped-key-0123" }, remoteAddress: CLIENT });
    expect(wrong.statusCode).toBe(401);
    expect(refusals(TASKS, 401)).toEqual([
      expect.objectContaining({ level: DEBUG, method: "GET", code: "unauthorized", reason: missing.json().error.message, ip: CLIENT }),
      expect.objectContaining({ level: DEBUG, code: "unauthorized", reason: wrong.json().error.message, ip: CLIENT }),
    ]);
    expect(refusals(TASKS, 401)[0]).not.toHaveProperty("delivery");
    expect(lines.join("\n")).not.toContain("private-cursor");
  });

  it("with a content type other than JSON: a 415 with the same message on the API and on the receivers, logged each", async () => {
    const api = await rt.server.inject({
      method: "POST", url: tasksUrl(), headers: { "x-api-key": acme.apiKey, "content-type": "text/plain" }, payload: "title=x", remoteAddress: CLIENT,
    });
    const receiver = await rt.server.inject({
      method: "POST", url: "/api/github/webhooks", headers: { "content-type": "application/x-www-form-urlencoded", "x-github-delivery": "form-1" }, payload: "payload=%7B%7D",
      remoteAddress: CLIENT,
    });
    expect([api.statusCode, receiver.statusCode]).toEqual([415, 415]);
    expect(api.json()).toEqual({ error: { code: "unsupported_media_type", message: "Content-Type must be application/json" } });
    expect(receiver.json()).toEqual(api.json());
    expect(refusals(TASKS, 415)).toEqual([expect.objectContaining({ level: DEBUG, code: "unsupported_media_type", reason: "Content-Type must be application/json", ip: CLIENT })]);
    expect(refusals("/api/github/webhooks", 415)).toEqual([expect.objectContaining({ level: INFO, code: "unsupported_media_type", delivery: "form-1", ip: CLIENT })]);
  });

  it("with a body over the limit: a 413 that names the limit, logged", async () => {
    const res = await rt.server.inject({
      method: "POST", url: tasksUrl(), headers: { "x-api-key": acme.apiKey, "content-type": "application/json" },
      payload: JSON.stringify({ title: "big", description: "x".repeat(1024 * 1024) }), remoteAddress: CLIENT,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: "payload_too_large", message: "the body is larger than 1 MiB (1048576 bytes)" } });
    expect(refusals(TASKS, 413)).toEqual([expect.objectContaining({ code: "payload_too_large", reason: res.json().error.message, ip: CLIENT })]);
  });

  it("leaves no secret in the log: no signature, key, webhook secret or body", () => {
    const all = lines.join("\n");
    expect(all).not.toContain("sha256=");
    for (const secret of [WRONG_SECRET, APP_WEBHOOK_SECRET, hook.secret, acme.apiKey, "oc_mistyped-key-0123", "never stored", "title=x"]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe("a request Node's HTTP parser refuses, which no Fastify hook sees", () => {
  let port: number;
  beforeAll(async () => {
    await rt.server.listen({ port: 0, host: "127.0.0.1" });
    port = (rt.server.server.address() as AddressInfo).port;
  });
  const UNPARSED = "(not parsed)";

  it("a malformed request line: answered 400 as JSON, one debug line with the parser's reason and the address", async () => {
    const answer = await rawRequest(port, "NOT AN HTTP REQUEST\r\n\r\n", [], 5000);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: "malformed_request", message: "the request is not valid HTTP" } });
    expect(refusals(UNPARSED, 400)).toEqual([expect.objectContaining({
      level: DEBUG, code: "malformed_request", reason: expect.stringMatching(/^HPE_/), method: "-", ip: "127.0.0.1",
    })]);
    expect(refusals(UNPARSED, 400)[0]!.msg).toMatch(/^refused - \(not parsed\): 400 malformed_request \(HPE_\w+\)$/);
  });

  it("headers over the limit on the App endpoint: answered 431, one info line under the route, without the headers", async () => {
    const padding = "p".repeat(20_000);
    const head = `POST /api/github/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${padding}\r\n\r\n`;
    const answer = await rawRequest(port, head, [], 5000);
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body).error.code).toBe("headers_too_large");
    expect(refusals("/api/github/webhooks", 431)).toEqual([expect.objectContaining({
      level: INFO, code: "headers_too_large", reason: "HPE_HEADER_OVERFLOW", method: "POST", ip: "127.0.0.1",
    })]);
    expect(lines.join("\n")).not.toContain("ppppp");
  });

  it("a bad header on the API: the path it asked for, never its query string", async () => {
    const answer = await rawRequest(port, "GET /api/v1/webhooks?cursor=query-secret HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n", [], 5000);
    expect(answer.status).toBe(400);
    const [line] = parsed().filter((l) => l.msg.startsWith("refused") && l.path === "/api/v1/webhooks");
    expect(line).toMatchObject({ level: DEBUG, status: 400, code: "malformed_request", method: "GET", route: UNPARSED, ip: "127.0.0.1" });
    expect(lines.join("\n")).not.toContain("query-secret");
  });
});

describe("a flood of refusals", () => {
  it("writes at most the limit per route and status, then one line saying how many were left out", async () => {
    const before = refusals("/api/github/webhooks", 401).length;
    const flood = 500;
    for (let i = 0; i < flood; i++) expect((await badlySigned("/api/github/webhooks").send()).statusCode).toBe(401);
    const written = refusals("/api/github/webhooks", 401).length;
    expect(written).toBeLessThanOrEqual(REFUSAL_LINES_PER_WINDOW);

    const summaries = await waitFor(async () => {
      const found = parsed().filter((l) => l.left_out !== undefined && l.route === "/api/github/webhooks" && l.status === 401);
      return found.length > 0 ? found : undefined;
    }, 15_000, "the line saying how many refusals were left out");
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ level: INFO, method: "POST", msg: expect.stringMatching(/^\d+ more refusals of POST \/api\/github\/webhooks with 401 in 10 s were not logged$/) });
    // Every refusal is either written or counted.
    expect(written + summaries[0]!.left_out!).toBe(before + flood);
  });
});
