import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "../../src/db/sql.js";
import { createAgent } from "../../src/domain/agents.js";
import { createAgentKey, revokeApiKey, createApiKey } from "../../src/domain/api-keys.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "console_auth" });
  acme = await createTenant(rt, "acme");
});
afterAll(async () => {
  await rt?.stop();
});

const ORIGIN = "http://localhost:80";
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function signIn(key: string) {
  return rt.server.inject({
    method: "POST", url: "/admin/login",
    headers: { "content-type": "application/x-www-form-urlencoded", host: "localhost:80", origin: ORIGIN },
    payload: form({ key, next: "/admin/tasks" }),
  });
}

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const header = String(res.headers["set-cookie"]);
  return header.split(";")[0]!;
}

async function csrfOf(cookie: string): Promise<string> {
  const res = await rt.server.inject({ method: "GET", url: "/admin", headers: { cookie, accept: "text/html" } });
  expect(res.statusCode).toBe(200);
  return /name="_csrf" value="([^"]+)"/.exec(res.body)![1]!;
}

describe("signing in to the console", () => {
  it("sends a visitor without a session to the sign-in page", async () => {
    const res = await rt.server.inject({ method: "GET", url: "/admin?x=1", headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/admin/login?next=%2Fadmin%3Fx%3D1");
    const login = await rt.server.inject({ method: "GET", url: "/admin/login" });
    expect(login.statusCode).toBe(200);
    expect(login.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(login.body).toContain('type="password"');
  });

  it("exchanges an admin key for an HttpOnly, SameSite=Strict cookie with an expiry, whose token only the server's hash knows", async () => {
    const res = await signIn(acme.apiKey);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/admin/tasks");
    const header = String(res.headers["set-cookie"]);
    expect(header).toMatch(/^entourage_console=[\w-]{40,}; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(header).not.toContain(acme.apiKey);
    const token = cookieOf(res).split("=")[1]!;
    const stored = await sql<{ token_hash: string; expires_at: Date }>(rt.database.dataSource, "SELECT token_hash, expires_at FROM console_sessions WHERE org_id = $1", [acme.orgId]);
    expect(stored.rows.length).toBeGreaterThan(0);
    expect(stored.rows.map((r) => r.token_hash)).not.toContain(token);
    expect(stored.rows[0]!.expires_at.getTime()).toBeGreaterThan(Date.now());
    const overview = await rt.server.inject({ method: "GET", url: "/admin", headers: { cookie: cookieOf(res) } });
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toContain("Tasks by status");
    expect(overview.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(overview.body).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)/);
  });

  it("refuses an agent key, and a key that is not one", async () => {
    const agent = await createAgent(rt.database.dataSource, acme.orgId, acme.teamId, { name: "bot", role: "engineer" });
    const { key } = await createAgentKey(rt.database.dataSource, acme.orgId, agent.id);
    const refused = await signIn(key);
    expect(refused.statusCode).toBe(403);
    expect(refused.headers["set-cookie"]).toBeUndefined();
    expect(refused.body).toContain("an agent key cannot sign in to the console");
    const unknown = await signIn("oc_not-a-key");
    expect(unknown.statusCode).toBe(401);
    expect(unknown.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses a change without the session's CSRF token, or from another origin", async () => {
    const cookie = cookieOf(await signIn(acme.apiKey));
    const csrf = await csrfOf(cookie);
    const post = (fields: Record<string, string>, origin = ORIGIN) => rt.server.inject({
      method: "POST", url: "/admin/logout",
      headers: { cookie, host: "localhost:80", origin, "content-type": "application/x-www-form-urlencoded" },
      payload: form(fields),
    });
    expect((await post({})).statusCode).toBe(403);
    expect((await post({ _csrf: "x".repeat(csrf.length) })).statusCode).toBe(403);
    expect((await post({ _csrf: csrf }, "https://evil.example")).statusCode).toBe(403);
    const still = await rt.server.inject({ method: "GET", url: "/admin", headers: { cookie } });
    expect(still.statusCode).toBe(200);
  });

  it("signing out ends the session on the server: the old cookie opens nothing", async () => {
    const cookie = cookieOf(await signIn(acme.apiKey));
    const csrf = await csrfOf(cookie);
    const res = await rt.server.inject({
      method: "POST", url: "/admin/logout",
      headers: { cookie, host: "localhost:80", origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      payload: form({ _csrf: csrf }),
    });
    expect(res.statusCode).toBe(303);
    expect(String(res.headers["set-cookie"])).toContain("Max-Age=0");
    const after = await rt.server.inject({ method: "GET", url: "/admin", headers: { cookie, accept: "text/html" } });
    expect(after.statusCode).toBe(303);
    expect(after.headers.location).toMatch(/^\/admin\/login/);
  });

  it("revoking the key that signed in ends its sessions", async () => {
    const { key, record } = await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "short-lived" });
    const cookie = cookieOf(await signIn(key));
    expect((await rt.server.inject({ method: "GET", url: "/admin", headers: { cookie } })).statusCode).toBe(200);
    await revokeApiKey(rt.database.dataSource, acme.orgId, record.id);
    expect((await rt.server.inject({ method: "GET", url: "/admin", headers: { cookie } })).statusCode).toBe(401);
  });

  it("never redirects a sign-in to another site", async () => {
    const res = await rt.server.inject({
      method: "POST", url: "/admin/login",
      headers: { "content-type": "application/x-www-form-urlencoded", host: "localhost:80", origin: ORIGIN },
      payload: form({ key: acme.apiKey, next: "//evil.example/admin" }),
    });
    expect(res.headers.location).toBe("/admin");
  });

  it("streams changes to a signed-in page, and an open stream does not hold the server's close", async () => {
    const cookie = cookieOf(await signIn(acme.apiKey));
    const refused = await rt.server.inject({ method: "GET", url: "/admin/events" });
    expect(refused.statusCode).toBe(401);
    await rt.server.listen({ host: "127.0.0.1", port: 0 });
    const { port } = rt.server.server.address() as AddressInfo;
    const stream = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: "127.0.0.1", port, path: `/admin/events?since=${Date.now()}`, headers: { cookie } }, resolve).on("error", reject));
    expect(stream.statusCode).toBe(200);
    expect(stream.headers["content-type"]).toContain("text/event-stream");
    const ended = new Promise((resolve) => stream.on("end", resolve).resume());
    const started = Date.now();
    await rt.server.close();
    await ended;
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
