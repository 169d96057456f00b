import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHmac, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { APP_WEBHOOK_SECRET, countRows, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../app-runtime.js";
import { reportFigures } from "../figures.js";
import { issueOpened, signature } from "../github-events.js";
import { post, rawRequest, sendPaced, type Answer } from "../http-client.js";
import { apiClient, deliverToApp } from "../http.js";
import { testRandom } from "../random.js";

export interface ForgerySize {
  /** Bad requests in all, the huge ones included. */
  requests: number;
  /** Bodies over GitHub's 25 MB limit among them. */
  hugeBodies: number;
  concurrency: number;
}

const APP_PATH = "/api/github/webhooks";
const OVER_LIMIT = 25 * 1024 * 1024 + 1024;

/** One endpoint and the secret its deliveries are signed with. */
interface Target {
  name: string;
  path: string;
  secret: string;
}

interface BadRequest {
  name: string;
  status: number;
  code: string;
  /** Another answer that is as right (which one comes depends on how the bytes arrive). */
  or?: { status: number; code: string };
  send(port: number): Promise<Answer>;
}

const random = testRandom();
const pick = <T>(items: readonly T[]): T => random.pick(items);
const hex = (bytes: number) => random.hex(bytes);

function payload(): string {
  return JSON.stringify(issueOpened({ owner: "forgery-corp", number: random.int(1, 1_000_001), title: `Forged ${hex(4)}`, installationId: 9_300_001 }));
}

function headersFor(target: Target, body: string | Buffer, overrides: Record<string, string | string[] | undefined> = {}): Record<string, string | string[]> {
  const headers: Record<string, string | string[] | undefined> = {
    "content-type": "application/json",
    "x-github-event": "issues",
    "x-github-delivery": randomUUID(),
    "x-hub-signature-256": signature(target.secret, body),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string | string[]>;
}

/** Bytes node:http refuses to send: written to the socket as they are. */
function viaSocket(name: string, status: number, code: string, path: string, headerLines: string[], body: Buffer, contentLength: number | null = body.length): BadRequest {
  const lines = [`POST ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headerLines];
  if (contentLength !== null) lines.push(`Content-Length: ${contentLength}`);
  return { name, status, code, send: (port) => rawRequest(port, `${lines.join("\r\n")}\r\n\r\n`, [body]) };
}

function viaHttp(name: string, status: number, code: string, path: string, headers: Record<string, string | string[]>, body: string | Buffer): BadRequest {
  return { name, status, code, send: (port) => post(port, path, headers, body) };
}

function headerLines(headers: Record<string, string | string[]>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]));
}

/** Each call makes one fresh bad request of its kind against `target`. */
const KINDS: ((target: Target, others: { otherSecret: string }) => BadRequest)[] = [
  (t) => {
    const body = payload();
    return viaHttp("missing signature", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": undefined }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("empty signature", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": "" }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("random signature", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": `sha256=${hex(32)}` }), body);
  },
  (t) => {
    const body = payload();
    const full = signature(t.secret, body);
    return viaHttp("truncated signature", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": full.slice(0, random.int(7, 71)) }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("signature of another body", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": signature(t.secret, payload()) }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("body changed after signing", 401, "unauthorized", t.path, headersFor(t, body), `${body} `);
  },
  (t, o) => {
    const body = payload();
    return viaHttp("signed with another secret", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": signature(pick([o.otherSecret, `whsec_${hex(32)}`, ""]), body) }), body);
  },
  (t) => {
    const body = payload();
    const sha1 = `sha1=${createHmac("sha1", t.secret).update(body).digest("hex")}`;
    return viaHttp("sha1 signature", 401, "unauthorized", t.path, headersFor(t, body, pick([
      { "x-hub-signature-256": sha1 },
      { "x-hub-signature-256": undefined, "x-hub-signature": sha1 },
    ])), body);
  },
  (t) => {
    const body = payload();
    const good = signature(t.secret, body);
    return viaHttp("uppercase signature", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": pick([good.toUpperCase(), `sha256=${good.slice(7).toUpperCase()}`, `SHA256=${good.slice(7)}`]) }), body);
  },
  (t) => {
    const body = payload();
    const good = signature(t.secret, body);
    return viaHttp("duplicated signature header", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": [good, good] }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("oversized signature header", 401, "unauthorized", t.path, headersFor(t, body, { "x-hub-signature-256": `sha256=${"a".repeat(8000)}` }), body);
  },
  (t) => {
    const body = pick(["{not json", "{\"issue\": ", "{}x", "<xml/>", "payload=%7B%7D", "{'single': 'quotes'}", "\u{1F600}"]);
    return viaHttp("non-JSON body, correctly signed", 400, "invalid_json", t.path, headersFor(t, body), body);
  },
  (t) => {
    const body = random.bytes(200);
    return viaHttp("binary body, correctly signed", 400, "invalid_json", t.path, headersFor(t, body), body);
  },
  (t) => {
    const body = pick(["[]", `[${payload()}]`, "null", "42", "\"issues\"", "true"]);
    return viaHttp("JSON that is not an object, correctly signed", 400, "invalid_json", t.path, headersFor(t, body), body);
  },
  (t) => {
    const body = payload();
    const type = pick(["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x", "application/jsonp", "json", "application/json-patch+json"]);
    return viaHttp("wrong content type", 415, "unsupported_media_type", t.path, headersFor(t, body, { "content-type": type }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("no content type", 415, "unsupported_media_type", t.path, headersFor(t, body, { "content-type": undefined }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("no event header", 400, "missing_header", t.path, headersFor(t, body, { "x-github-event": undefined }), body);
  },
  (t) => {
    const body = payload();
    const event = pick(["issues.opened", "ISSUES", "issues;rm -rf /", "x".repeat(65), "../issues", "issues issues", ["issues", "issues"]]);
    return viaHttp("malformed or duplicated event header", 400, "missing_header", t.path, headersFor(t, body, { "x-github-event": event }), body);
  },
  (t) => {
    const body = payload();
    return viaHttp("no delivery header", 400, "missing_header", t.path, headersFor(t, body, { "x-github-delivery": undefined }), body);
  },
  (t) => {
    const body = payload();
    const id = pick(["../../etc/passwd", "a b", "x".repeat(101), "'; DROP TABLE webhook_deliveries; --", "%0d%0aSet-Cookie: x=1", [randomUUID(), randomUUID()]]);
    return viaHttp("malformed or duplicated delivery header", 400, "missing_header", t.path, headersFor(t, body, { "x-github-delivery": id }), body);
  },
  (t) => {
    const body = payload();
    return viaSocket("headers over the server's size limit", 431, "headers_too_large", t.path, headerLines(headersFor(t, body, { "x-padding": "p".repeat(20_000) })), Buffer.from(body));
  },
  (t) => {
    const body = Buffer.from(payload());
    const headers = headersFor(t, body);
    const lines = headerLines(headers);
    const injected = pick([
      (l: string[]) => l.map((x) => (x.startsWith("x-github-event") ? `${x}\rX-Injected: 1` : x)),
      (l: string[]) => l.map((x) => (x.startsWith("x-github-event") ? `${x}\u0000` : x)),
      (l: string[]) => [...l, "X-Folded: first", " continued"],
      (l: string[]) => [...l, "Bad Header Name: x"],
      (l: string[]) => [...l, "no-colon-here"],
    ]);
    return viaSocket("CR, NUL or malformed header line", 400, "malformed_request", t.path, injected(lines), body);
  },
  (t) => {
    const body = Buffer.from(payload());
    const lines = headerLines(headersFor(t, body));
    return viaSocket("Content-Length and Transfer-Encoding together", 400, "malformed_request", t.path, [...lines, "Transfer-Encoding: chunked"], body);
  },
  (t) => {
    const body = Buffer.from(payload());
    const lines = headerLines(headersFor(t, body));
    return viaSocket("two different Content-Length headers", 400, "malformed_request", t.path, [...lines, `Content-Length: ${body.length + 1}`], body);
  },
  (t) => {
    const body = Buffer.from(payload());
    const lines = headerLines(headersFor(t, body));
    // The server reads fewer bytes than were signed (no longer what the signature covers); the rest is not a request.
    const request = viaSocket("Content-Length shorter than the signed body", 400, "malformed_request", t.path, lines, body, body.length - 10);
    return { ...request, or: { status: 401, code: "unauthorized" } };
  },
  (t) => {
    const body = payload();
    return { name: "GET instead of POST", status: 404, code: "not_found", send: (port) => rawRequest(port, `GET ${t.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headerLines(headersFor(t, body)).join("\r\n")}\r\n\r\n`) };
  },
];

/** Ids that name no webhook that can receive (unknown, malformed, not a uuid a column could hold), and the answer each gets. */
const UNKNOWN_IDS: [() => string, number, string][] = [
  [() => randomUUID(), 404, "not_found"],
  [() => "not-a-uuid", 404, "not_found"],
  [() => "-".repeat(36), 404, "not_found"],
  [() => "0".repeat(36), 404, "not_found"],
  [() => "ffffffff-ffff-ffff-ffff-fffffffffffff", 404, "not_found"],
  [() => "%27%20OR%20%271%27%3D%271", 404, "not_found"],
  [() => "%0d%0aSet-Cookie:%20x%3D1", 404, "not_found"],
  [() => "%zz", 400, "invalid_url"],
  [() => "x".repeat(2000), 414, "uri_too_long"],
];

function hugeBody(target: Target, index: number): BadRequest {
  const filler = Buffer.alloc(OVER_LIMIT, 0x20);
  filler.write("{\"a\":\"", 0);
  filler.write("\"}", OVER_LIMIT - 2);
  const headers = headersFor(target, filler);
  if (index % 2 === 0) return viaHttp("body over 25 MB with its length", 413, "payload_too_large", target.path, headers, filler);
  // Chunked: the server learns the size only while reading.
  const lines = [`POST ${target.path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headerLines(headers), "Transfer-Encoding: chunked"];
  const chunks: Buffer[] = [];
  for (let at = 0; at < filler.length; at += 1024 * 1024) {
    const part = filler.subarray(at, at + 1024 * 1024);
    chunks.push(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]));
  }
  chunks.push(Buffer.from("0\r\n\r\n"));
  return { name: "chunked body over 25 MB", status: 413, code: "payload_too_large", send: (port) => rawRequest(port, `${lines.join("\r\n")}\r\n\r\n`, chunks) };
}

/**
 * Generated bad requests against both webhook endpoints of a listening server: wrong, missing or
 * mangled signatures, bodies that are not a JSON object, wrong content types, bad or injected
 * headers, huge bodies, unknown and inactive webhooks. Each gets the right 4xx as a JSON error;
 * nothing is stored, no task is made, nothing answers 5xx.
 */
export function describeForgery(size: ForgerySize): void {
  describe(`${size.requests} forged or malformed deliveries`, () => {
    let rt: TestRuntime;
    let tenant: Tenant;
    let port: number;
    let targets: Target[];
    let extra: BadRequest[];

    beforeAll(async () => {
      rt = await startTestRuntime({ label: "forgery" });
      await rt.server.listen({ port: 0, host: "127.0.0.1" });
      port = (rt.server.server.address() as AddressInfo).port;
      tenant = await createTenant(rt, "forgery", "forgery-corp");
      const api = apiClient(rt, tenant.apiKey);
      const register = async (name: string) => (await api.post("/api/v1/webhooks", { team_id: tenant.teamId, name, events: ["issues"] })).body as { id: string; secret: string };
      const hook = await register("forged");
      const inactive = await register("inactive");
      await api.patch(`/api/v1/webhooks/${inactive.id}`, { active: false });
      const deleted = await register("deleted");
      await api.delete(`/api/v1/webhooks/${deleted.id}`);
      const rotated = await register("rotated");
      await api.post(`/api/v1/webhooks/${rotated.id}/regenerate-secret`, { grace_seconds: 0 });
      // A real App delivery makes the installation's own webhook row, which has no receive endpoint.
      const appDelivery = await deliverToApp(rt, "issues", issueOpened({ owner: "forgery-corp", number: 1, installationId: 9_300_001, senderType: "Bot" }));
      const appHook = (await api.get("/api/v1/webhooks")).body.data.find((w: { provider: string }) => w.provider === "github_app") as { id: string };
      expect(appDelivery.status).toBe("ignored");

      const hookTarget = { name: "webhook", path: `/api/v1/webhooks/${hook.id}/receive`, secret: hook.secret };
      targets = [{ name: "app", path: APP_PATH, secret: APP_WEBHOOK_SECRET }, hookTarget];
      const signed = (path: string, secret: string) => {
        const body = payload();
        return { path, headers: headersFor({ name: "", path, secret }, body), body };
      };
      const receiveAt = (id: string, secret: string, name: string, status: number, code: string) => {
        const r = signed(`/api/v1/webhooks/${id}/receive`, secret);
        return viaHttp(name, status, code, r.path, r.headers, r.body);
      };
      const appWithHookSecret = signed(APP_PATH, hook.secret);
      extra = [
        ...UNKNOWN_IDS.map(([id, status, code]) => receiveAt(id(), hook.secret, "unknown webhook id", status, code)),
        receiveAt(deleted.id, deleted.secret, "deleted webhook", 404, "not_found"),
        receiveAt(appHook.id, APP_WEBHOOK_SECRET, "the App installation's webhook", 404, "not_found"),
        receiveAt(inactive.id, inactive.secret, "inactive webhook", 410, "gone"),
        receiveAt(rotated.id, rotated.secret, "secret replaced without grace", 401, "unauthorized"),
        viaHttp("a webhook's secret on the App endpoint", 401, "unauthorized", APP_PATH, appWithHookSecret.headers, appWithHookSecret.body),
      ];
    }, 60_000);

    afterAll(async () => {
      await rt?.stop();
    });

    it("answers each with the right 4xx JSON error and stores nothing", async () => {
      const requests: BadRequest[] = [...extra];
      for (let i = 0; i < size.hugeBodies; i++) requests.push(hugeBody(targets[i % targets.length]!, i));
      const otherSecret = `whsec_${hex(32)}`;
      for (let i = 0; requests.length < size.requests; i++) {
        requests.push(KINDS[i % KINDS.length]!(targets[Math.floor(i / KINDS.length) % targets.length]!, { otherSecret }));
      }
      const deliveriesBefore = await countRows(rt, "webhook_deliveries");
      const tasksBefore = await countRows(rt, "tasks");

      const answers = await sendPaced(requests, { concurrency: size.concurrency, windowMs: 0 }, async (request) => ({ request, answer: await request.send(port) }));

      const wrong = answers.filter(({ request, answer }) => {
        let error: { code?: unknown; message?: unknown } | undefined;
        try {
          error = (JSON.parse(answer.body) as { error?: typeof error }).error;
        } catch {
          error = undefined;
        }
        const leaks = targets.some((t) => answer.body.includes(t.secret));
        const right = [{ status: request.status, code: request.code }, ...(request.or ? [request.or] : [])]
          .some((r) => r.status === answer.status && r.code === error?.code);
        return !right || !String(answer.headers["content-type"]).startsWith("application/json") || typeof error?.message !== "string" || leaks;
      });
      const serverErrors = answers.filter(({ answer }) => answer.status >= 500 || answer.status === 0).length;
      const stored = (await countRows(rt, "webhook_deliveries")) - deliveriesBefore;
      const tasks = (await countRows(rt, "tasks")) - tasksBefore;
      const kinds = new Set(requests.map((r) => r.name)).size;

      reportFigures("forgery", {
        sent: requests.length, kinds, huge_bodies: size.hugeBodies, wrong_answers: wrong.length, "5xx_or_no_answer": serverErrors,
        stored_deliveries: stored, tasks,
      });

      expect(wrong.map(({ request, answer }) => `${request.name}: expected ${request.status} ${request.code}, got ${answer.status} ${answer.error ?? answer.body.slice(0, 200)}`)).toEqual([]);
      expect(serverErrors).toBe(0);
      expect(stored).toBe(0);
      expect(tasks).toBe(0);
    }, 180_000);
  });
}
