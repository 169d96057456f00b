import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { AgentClient, listenOnLoopback, type ToolCall } from "../helpers/mcp-client.js";

let rt: TestRuntime;
let acme: Tenant;
let rival: Tenant;
let url: string;
let eng: { id: string; key: string };
let rev: { id: string; key: string };
let client: AgentClient;
let otherTeamTask: number;
let rivalTask: number;

async function newAgent(tenant: Tenant, name: string, teamId = tenant.teamId): Promise<{ id: string; key: string }> {
  const admin = apiClient(rt, tenant.apiKey);
  const agent = (await admin.post(`/api/v1/teams/${teamId}/agents`, { name, role: "engineer" })).body;
  return { id: agent.id, key: (await admin.post(`/api/v1/agents/${agent.id}/keys`)).body.key };
}

async function newTask(tenant: Tenant, title: string, teamId = tenant.teamId): Promise<number> {
  return (await apiClient(rt, tenant.apiKey).post(`/api/v1/teams/${teamId}/tasks`, { title })).body.id;
}

async function post(body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
}

const LIST_TOOLS = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} };

function expectRefusal(result: ToolCall, code: string, text: string | RegExp): void {
  expect(result.isError).toBe(true);
  expect(result.data.error.code).toBe(code);
  expect(result.text).not.toContain("\n");
  if (typeof text === "string") expect(result.text).toBe(text);
  else expect(result.text).toMatch(text);
}

beforeAll(async () => {
  rt = await startTestRuntime({ label: "mcp_refusals", env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1" } });
  acme = await createTenant(rt, "acme");
  rival = await createTenant(rt, "rival");
  eng = await newAgent(acme, "eng");
  rev = await newAgent(acme, "rev");
  const otherTeam = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "other" });
  otherTeamTask = await newTask(acme, "Other team's task", otherTeam.id);
  rivalTask = await newTask(rival, "Rival's task");
  url = await listenOnLoopback(rt);
  client = await AgentClient.connect(url, eng.key);
});
afterAll(async () => {
  await client?.close();
  await rt?.stop();
});

describe("refused tool calls are tool results with isError and one line", () => {
  it("an unknown task, another team's task and another organization's task are not found", async () => {
    for (const id of [2_000_000, otherTeamTask, rivalTask]) {
      for (const [tool, args] of [
        ["get_task", {}], ["acknowledge_task", {}], ["change_task_status", { status: "in_progress" }], ["report_progress", { message: "x" }],
        ["create_subtasks", { tasks: [{ title: "x" }] }], ["ask_human", { question: "x?" }],
      ] as const) {
        expectRefusal(await client.call(tool, { task_id: id, ...args }), "not_found", `task ${id} not found; list_tasks lists the tasks of your team, which are the ones you can reach`);
      }
    }
    const admin = apiClient(rt, acme.apiKey);
    expect((await admin.get(`/api/v1/tasks/${otherTeamTask}`)).body.status).toBe("todo");
    expect((await apiClient(rt, rival.apiKey).get(`/api/v1/tasks/${rivalTask}/events`)).body.data).toHaveLength(1);
  });

  it("an illegal move names the moves allowed", async () => {
    const task = await newTask(acme, "Cannot skip ahead");
    expectRefusal(await client.call("change_task_status", { task_id: task, status: "done" }), "illegal_transition",
      `task #${task} cannot move from todo to done; allowed: in_progress, cancelled`);
  });

  it("a blocked dependency names the blockers, and a sub-task batch with a bad item creates nothing", async () => {
    const parent = await newTask(acme, "Parent");
    const before = (await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM tasks")).rows[0]!.n;
    expectRefusal(await client.call("create_subtasks", { task_id: parent, tasks: [{ title: "a" }, { title: "b", assignee: "nobody" }] }),
      "invalid_assignee", "\"nobody\" is not an agent of this team; its agents: eng, rev");
    expectRefusal(await client.call("create_subtasks", { task_id: parent, tasks: [{ title: "a" }, { title: "b", depends_on: [`#${rivalTask}`] }] }),
      "invalid_dependency", `depends_on names tasks that are not in this team: #${rivalTask}; depends_on takes the 0-based index of an earlier item, or the id of a task of your team ("#601")`);
    expect((await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM tasks")).rows[0]!.n).toBe(before);
    const made = await client.call("create_subtasks", { task_id: parent, tasks: [{ title: "first" }, { title: "second", depends_on: [0] }] });
    const [first, second] = made.data.data as { id: number }[];
    expectRefusal(await client.call("change_task_status", { task_id: second!.id, status: "in_progress" }), "blocked_by_dependencies",
      `task #${second!.id} is blocked by unfinished dependencies: #${first!.id}; move those to done first, or work on another task`);
  });

  it("bad arguments say what is wrong and how to call the tool", async () => {
    expectRefusal(await client.call("change_task_status", { task_id: 1, status: "finished" }), "invalid_arguments",
      /^status: .*"in_progress".*; change_task_status takes \{"task_id": <task number>, "status": todo\|in_progress\|/);
    expectRefusal(await client.call("get_task", {}), "invalid_arguments", /^task_id: .*; get_task takes \{"task_id": <task number>\}$/);
    expectRefusal(await client.call("get_task", { task_id: "seven" }), "invalid_arguments", /^task_id: /);
    expectRefusal(await client.call("list_tasks", { limit: 0 }), "invalid_arguments", /^limit: /);
    expectRefusal(await client.call("get_inbox", { extra: true }), "invalid_arguments", /get_inbox takes no arguments/);
    expectRefusal(await client.call("create_subtasks", { task_id: 1, tasks: [] }), "invalid_arguments", /^tasks: .*; create_subtasks takes/);
  });

  it("an agent acknowledges only its own task", async () => {
    const task = await newTask(acme, "The reviewer's");
    await apiClient(rt, acme.apiKey).patch(`/api/v1/tasks/${task}`, { assignee_id: rev.id });
    expectRefusal(await client.call("acknowledge_task", { task_id: task }), "not_assignee",
      `task #${task} is assigned to another agent; only its assignee acknowledges it`);
  });
});

describe("two agents changing one task at once", () => {
  it("one wins, the other is told that the task already moved; no update is lost", async () => {
    const other = await AgentClient.connect(url, rev.key);
    try {
      for (let round = 0; round < 5; round++) {
        const task = await newTask(acme, `Contested ${round}`);
        const results = await Promise.all([
          client.call("change_task_status", { task_id: task, status: "in_progress" }),
          other.call("change_task_status", { task_id: task, status: "in_progress" }),
        ]);
        const won = results.filter((r) => !r.isError);
        const lost = results.filter((r) => r.isError);
        expect([won.length, lost.length]).toEqual([1, 1]);
        expect(lost[0]!.data.error.code).toBe("already_moved");
        expect(lost[0]!.text).toMatch(new RegExp(`^task #${task} is already in_progress \\(agent (eng|rev) moved it first\\); allowed from in_progress: in_review, todo, cancelled$`));
        const moves = await sql<{ actor_id: string }>(rt.database.dataSource, "SELECT actor_id FROM task_events WHERE task_id = $1 AND type = 'task.status_changed'", [task]);
        expect(moves.rows).toHaveLength(1);
        expect(won[0]!.data.status).toBe("in_progress");
      }
      const task = await newTask(acme, "Retried by its mover");
      expect((await client.call("change_task_status", { task_id: task, status: "in_progress" })).isError).toBe(false);
      expect((await client.call("change_task_status", { task_id: task, status: "in_progress" })).isError).toBe(false);
    } finally {
      await other.close();
    }
  });
});

describe("report_progress", () => {
  it("records a task.progress event that an outbound subscriber asked for", async () => {
    const admin = apiClient(rt, acme.apiKey);
    const hook = await admin.post("/api/v1/outbound-webhooks", { url: "http://127.0.0.1:9/progress", events: ["task.progress"], active: true });
    expect(hook.status).toBe(201);
    const task = await newTask(acme, "Progressing");
    const report = await client.call("report_progress", { task_id: task, message: "half way" });
    expect(report.data).toEqual({ task_id: task, type: "task.progress", message: "half way", actor_type: "agent", actor_id: eng.id });
    const deliveries = await sql<{ event: string; body: string }>(rt.database.dataSource, "SELECT event, body FROM outbound_deliveries WHERE outbound_webhook_id = $1", [hook.body.id]);
    expect(deliveries.rows.map((d) => [d.event, JSON.parse(d.body).data])).toEqual([["task.progress", { message: "half way" }]]);
    await admin.delete(`/api/v1/outbound-webhooks/${hook.body.id}`);
  });
});

describe("the /mcp endpoint's door", () => {
  it("answers 401 with WWW-Authenticate and a one-line JSON error without a valid key, also at once after revocation", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer oc_not-a-key" }, { "x-api-key": "oc_nope" }];
    for (const headers of attempts) {
      const res = await post(LIST_TOOLS, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="entourage"');
      const text = await res.text();
      expect(text).not.toContain("\n");
      expect(JSON.parse(text).error.code).toBe("unauthorized");
    }
    const shortLived = await newAgent(acme, "short-lived");
    expect((await post(LIST_TOOLS, { "x-api-key": shortLived.key })).status).toBe(200);
    const keyId = (await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM api_keys WHERE agent_id = $1", [shortLived.id])).rows[0]!.id;
    expect((await apiClient(rt, acme.apiKey).delete(`/api/v1/api-keys/${keyId}`)).status).toBe(204);
    expect((await post(LIST_TOOLS, { authorization: `Bearer ${shortLived.key}` })).status).toBe(401);
  });

  it("needs an agent key: an admin key is refused with 403", async () => {
    const res = await post(LIST_TOOLS, { "x-api-key": acme.apiKey });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("agent_key_required");
  });

  it("answers GET and DELETE with 405: stateless, no server-initiated stream", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${eng.key}`, accept: "text/event-stream" } });
      expect([method, res.status, res.headers.get("allow")]).toEqual([method, 405, "POST"]);
    }
  });

  it("serves a request without a session from any process: a bare tools/call needs no initialize first", async () => {
    const res = await post({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "list_team_agents", arguments: {} } },
      { authorization: `Bearer ${eng.key}`, "mcp-protocol-version": "2025-06-18" });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    const body = (await res.json()) as { result: { structuredContent: { data: { name: string }[] } } };
    expect(body.result.structuredContent.data.map((a: { name: string }) => a.name).sort()).toEqual(expect.arrayContaining(["eng", "rev"]));
  });

  it("keeps an agent key to its own team over REST too", async () => {
    const agentApi = apiClient(rt, eng.key);
    expect((await agentApi.get(`/api/v1/tasks/${otherTeamTask}`)).status).toBe(404);
    expect((await agentApi.get(`/api/v1/tasks/${rivalTask}`)).status).toBe(404);
    expect((await agentApi.get("/api/v1/webhooks")).status).toBe(403);
  });
});

describe("DNS-rebinding protection", () => {
  let laptop: TestRuntime;
  let laptopUrl: string;
  let key: string;

  beforeAll(async () => {
    laptop = await startTestRuntime({ label: "mcp_laptop", env: { MCP_ALLOWED_HOSTS: "127.0.0.1,localhost", MCP_ALLOWED_ORIGINS: "http://localhost:6274" } });
    const tenant = await createTenant(laptop, "solo");
    const admin = apiClient(laptop, tenant.apiKey);
    const agent = (await admin.post(`/api/v1/teams/${tenant.teamId}/agents`, { name: "eng", role: "engineer" })).body;
    key = (await admin.post(`/api/v1/agents/${agent.id}/keys`)).body.key;
    laptopUrl = await listenOnLoopback(laptop);
  });
  afterAll(async () => {
    await laptop?.stop();
  });

  async function send(headers: Record<string, string>): Promise<Response> {
    return fetch(laptopUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${key}`, ...headers },
      body: JSON.stringify(LIST_TOOLS),
    });
  }

  it("refuses a Host or Origin that is not allowed, and serves the allowed ones", async () => {
    const port = new URL(laptopUrl).port;
    expect((await send({})).status).toBe(200);
    expect((await send({ origin: "http://localhost:6274" })).status).toBe(200);
    const foreignOrigin = await send({ origin: "http://evil.example" });
    expect(foreignOrigin.status).toBe(403);
    expect(((await foreignOrigin.json()) as { error: unknown }).error).toEqual({ code: "forbidden_origin", message: "Origin \"http://evil.example\" may not call /mcp; allowed: http://localhost:6274" });
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch does not let a caller set Host: a raw request does, as a rebound browser page would.
      import("node:http").then(({ request }) => {
        const req = request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: {
          host: `evil.example:${port}`, "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${key}`,
        } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
        req.end(JSON.stringify(LIST_TOOLS));
      }, reject);
    });
    expect(rebound).toBe(403);
  });
});
