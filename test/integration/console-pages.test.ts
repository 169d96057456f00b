import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let receiver: Receiver;
let cookie: string;
let csrf: string;
const HOST = "localhost:80";

beforeAll(async () => {
  rt = await startTestRuntime({ label: "console_pages", env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1", OUTBOUND_BACKOFF_MS: "1" } });
  acme = await createTenant(rt, "acme");
  receiver = await startReceiver(() => 500);
  const login = await rt.server.inject({
    method: "POST", url: "/admin/login", headers: { "content-type": "application/x-www-form-urlencoded", host: HOST },
    payload: new URLSearchParams({ key: acme.apiKey }).toString(),
  });
  cookie = String(login.headers["set-cookie"]).split(";")[0]!;
  csrf = /name="_csrf" value="([^"]+)"/.exec((await get("/admin")).body)![1]!;
});
afterAll(async () => {
  await receiver?.close();
  await rt?.stop();
});

async function api(method: string, url: string, payload?: object): Promise<any> {
  const res = await rt.server.inject({ method: method as "POST", url, headers: { "x-api-key": acme.apiKey }, ...(payload ? { payload } : {}) });
  expect(res.statusCode).toBeLessThan(300);
  return res.json();
}

async function get(url: string) {
  return rt.server.inject({ method: "GET", url, headers: { cookie, host: HOST, accept: "text/html" } });
}

async function post(url: string, fields: Record<string, string> = {}) {
  return rt.server.inject({
    method: "POST", url, headers: { cookie, host: HOST, origin: `http://${HOST}`, "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
  });
}

describe("the console's other pages", () => {
  it("lists agents with their status, current task and keys, and pauses and resumes one as PATCH /agents/:id would", async () => {
    const agent = await api("POST", `/api/v1/teams/${acme.teamId}/agents`, { name: "ada", role: "engineer" });
    await api("POST", `/api/v1/agents/${agent.id}/keys`);
    const task = await api("POST", `/api/v1/teams/${acme.teamId}/tasks`, { title: "Fix the login", assignee_id: agent.id });
    const page = await get("/admin/agents");
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("ada");
    expect(page.body).toContain(`#${task.id} Fix the login`);
    expect(page.body).toMatch(/<code>oc_[^<]+…<\/code>/);
    expect((await post(`/admin/agents/${agent.id}/pause`)).statusCode).toBe(303);
    expect((await api("GET", `/api/v1/agents/${agent.id}`)).status).toBe("paused");
    expect((await get("/admin/agents")).body).toContain("Resume");
    expect((await post(`/admin/agents/${agent.id}/resume`)).statusCode).toBe(303);
    expect((await api("GET", `/api/v1/agents/${agent.id}`)).status).toBe("idle");
  });

  it("shows an outbound webhook's failed attempts and redelivers one", async () => {
    const hook = await api("POST", "/api/v1/outbound-webhooks", { url: receiver.url("/hook"), events: ["task.created"] });
    await api("POST", `/api/v1/teams/${acme.teamId}/tasks`, { title: "Notify me" });
    const failed = await waitFor(async () => {
      const rows = await sql<{ id: string; status: string }>(rt.database.dataSource, "SELECT id, status FROM outbound_deliveries WHERE outbound_webhook_id = $1", [hook.id]);
      // Dead: its attempts are spent, so none is in flight when it is redelivered.
      return rows.rows[0]?.status === "dead" ? rows.rows[0] : undefined;
    }, 40_000, "the outbound delivery to spend its attempts");
    const list = await get("/admin/outbound");
    expect(list.body).toContain(receiver.url("/hook"));
    const attempts = await get(`/admin/outbound/${hook.id}?status=${failed.status}`);
    expect(attempts.statusCode).toBe(200);
    expect(attempts.body).toContain("task.created");
    expect(attempts.body).toContain("500");
    const redelivered = await post(`/admin/outbound/${hook.id}/deliveries/${failed.id}/redeliver`);
    expect(redelivered.statusCode).toBe(303);
    const row = (await sql<{ redeliveries: number }>(rt.database.dataSource, "SELECT redeliveries FROM outbound_deliveries WHERE id = $1", [failed.id])).rows[0]!;
    expect(row.redeliveries).toBe(1);
  });

  it("lists installations with their repositories and team", async () => {
    await sql(rt.database.dataSource, `INSERT INTO installations (github_installation_id, org_id, account_login, account_type, repository_selection, repositories)
      VALUES (4242, $1, 'acme-gh', 'Organization', 'selected', ARRAY['acme-gh/web', 'acme-gh/<b>api</b>'])`, [acme.orgId]);
    const page = await get("/admin/installations");
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("acme-gh/web");
    expect(page.body).toContain("acme-gh/&lt;b&gt;api&lt;/b&gt;");
  });

  it("mounts Bull Board under /admin/queues behind the sign-in", async () => {
    const board = await get("/admin/queues");
    expect(board.statusCode).toBe(200);
    expect(board.body.toLowerCase()).toContain("bull");
    const api = await rt.server.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { cookie, host: HOST } });
    expect(api.statusCode).toBe(200);
    expect(JSON.stringify(api.json())).toContain("process-delivery");
    const stranger = await rt.server.inject({ method: "GET", url: "/admin/queues/api/queues" });
    expect(stranger.statusCode).toBe(401);
    const changed = await rt.server.inject({ method: "PUT", url: "/admin/queues/api/queues/outbound/clean/failed", headers: { cookie, host: HOST } });
    expect(changed.statusCode).toBe(403);
  });

  it("answers an unknown task with a page that says so", async () => {
    const missing = await get("/admin/tasks/999999");
    expect(missing.statusCode).toBe(404);
    expect(missing.headers["content-type"]).toContain("text/html");
    expect(missing.body).toContain("task 999999 not found");
  });
});
