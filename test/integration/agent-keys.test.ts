import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let rival: Tenant;
let otherTeamId: string;
let engineer: { id: string; key: string };
let reviewer: { id: string; key: string };
let ownTask: number;
let otherTeamTask: number;
let rivalTask: number;

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

async function call(method: Method, url: string, headers: Record<string, string>, payload?: unknown) {
  const res = await rt.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
}
const admin = (method: Method, url: string, payload?: unknown) => call(method, url, { "x-api-key": acme.apiKey }, payload);
const asAgent = (key: string, method: Method, url: string, payload?: unknown) => call(method, url, { "x-api-key": key }, payload);

async function newAgent(name: string, teamId = acme.teamId): Promise<{ id: string; key: string }> {
  const agent = await admin("POST", `/api/v1/teams/${teamId}/agents`, { name, role: "engineer" });
  const key = await admin("POST", `/api/v1/agents/${agent.body.id}/keys`);
  return { id: agent.body.id, key: key.body.key };
}

async function newTask(tenant: Tenant, teamId: string, title: string): Promise<number> {
  const res = await call("POST", `/api/v1/teams/${teamId}/tasks`, { "x-api-key": tenant.apiKey }, { title });
  return res.body.id;
}

beforeAll(async () => {
  rt = await startTestRuntime({ label: "agent_keys" });
  acme = await createTenant(rt, "acme");
  rival = await createTenant(rt, "rival");
  otherTeamId = (await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "other" })).id;
  engineer = await newAgent("eng-1");
  reviewer = await newAgent("rev-1");
  ownTask = await newTask(acme, acme.teamId, "Own team's task");
  otherTeamTask = await newTask(acme, otherTeamId, "Other team's task");
  rivalTask = await newTask(rival, rival.teamId, "Rival's task");
});
afterAll(async () => {
  await rt?.stop();
});

describe("POST /api/v1/agents/:id/keys", () => {
  it("shows the key once, stores its hash, and lists it with its agent_id", async () => {
    const agent = await admin("POST", `/api/v1/teams/${acme.teamId}/agents`, { name: "keyed", role: "engineer" });
    const res = await admin("POST", `/api/v1/agents/${agent.body.id}/keys`);
    expect(res.status).toBe(201);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toEqual({ id: expect.any(String), agent_id: agent.body.id, key: expect.stringMatching(/^oc_[A-Za-z0-9_-]{43}$/), created_at: expect.any(String) });
    const stored = await sql(rt.database.dataSource, "SELECT * FROM api_keys WHERE id = $1", [res.body.id]);
    expect(stored.rows[0]).toMatchObject({ role: "agent", agent_id: agent.body.id });
    expect(JSON.stringify(stored.rows[0])).not.toContain(res.body.key);
    const listed = (await admin("GET", "/api/v1/api-keys?limit=200")).body.data as { id: string; agent_id: string | null; role: string }[];
    expect(listed.find((k) => k.id === res.body.id)).toMatchObject({ agent_id: agent.body.id, role: "agent" });
  });

  it("answers 404 for another organization's agent, and 403 to an agent key", async () => {
    const rivalAgent = await call("POST", `/api/v1/teams/${rival.teamId}/agents`, { "x-api-key": rival.apiKey }, { name: "r", role: "engineer" });
    expect((await admin("POST", `/api/v1/agents/${rivalAgent.body.id}/keys`)).status).toBe(404);
    expect((await asAgent(engineer.key, "POST", `/api/v1/agents/${engineer.id}/keys`)).status).toBe(403);
  });
});

describe("a request made with an agent key", () => {
  it("acts as the agent: task changes are recorded with actor {type: agent, id}", async () => {
    const task = await newTask(acme, acme.teamId, "Acted on by an agent");
    expect((await asAgent(engineer.key, "PATCH", `/api/v1/tasks/${task}`, { assignee_id: engineer.id })).status).toBe(200);
    expect((await asAgent(engineer.key, "POST", `/api/v1/tasks/${task}/status`, { status: "in_progress" })).status).toBe(200);
    const bearer = await call("POST", `/api/v1/tasks/${task}/status`, { authorization: `Bearer ${engineer.key}` }, { status: "in_review" });
    expect(bearer.status).toBe(200);
    const events = (await admin("GET", `/api/v1/tasks/${task}/events`)).body.data as { type: string; actor_type: string; actor_id: string }[];
    const byAgent = events.filter((e) => e.type !== "task.created" && e.type !== "task.dispatched");
    expect(byAgent.map((e) => [e.type, e.actor_type, e.actor_id])).toEqual([
      ["task.status_changed", "agent", engineer.id],
      ["task.status_changed", "agent", engineer.id],
      ["task.assigned", "agent", engineer.id],
    ]);
  });

  it("reaches its own team's tasks and agents; another team's or organization's answer 404", async () => {
    expect((await asAgent(engineer.key, "GET", `/api/v1/tasks/${ownTask}`)).status).toBe(200);
    expect((await asAgent(engineer.key, "GET", `/api/v1/teams/${acme.teamId}/tasks`)).status).toBe(200);
    expect((await asAgent(engineer.key, "GET", `/api/v1/agents/${reviewer.id}`)).status).toBe(200);
    const otherTeamAgent = await admin("POST", `/api/v1/teams/${otherTeamId}/agents`, { name: "elsewhere", role: "engineer" });
    const refused: [Method, string, unknown?][] = [
      ["GET", `/api/v1/tasks/${otherTeamTask}`],
      ["GET", `/api/v1/tasks/${rivalTask}`],
      ["PATCH", `/api/v1/tasks/${otherTeamTask}`, { title: "x" }],
      ["POST", `/api/v1/tasks/${otherTeamTask}/status`, { status: "in_progress" }],
      ["POST", `/api/v1/tasks/${rivalTask}/status`, { status: "in_progress" }],
      ["POST", `/api/v1/tasks/${otherTeamTask}/acknowledge`],
      ["POST", `/api/v1/tasks/${otherTeamTask}/subtasks`, { title: "x" }],
      ["PUT", `/api/v1/tasks/${otherTeamTask}/dependencies`, { depends_on: [] }],
      ["GET", `/api/v1/tasks/${rivalTask}/events`],
      ["GET", `/api/v1/teams/${otherTeamId}/tasks`],
      ["POST", `/api/v1/teams/${otherTeamId}/tasks`, { title: "x" }],
      ["GET", `/api/v1/teams/${rival.teamId}/agents`],
      ["GET", `/api/v1/agents/${otherTeamAgent.body.id}`],
    ];
    for (const [method, url, body] of refused) {
      const res = await asAgent(engineer.key, method, url, body);
      expect({ method, url, status: res.status, code: res.body.error.code }).toEqual({ method, url, status: 404, code: "not_found" });
    }
    const title = (await admin("GET", `/api/v1/tasks/${otherTeamTask}`)).body.title;
    expect(title).toBe("Other team's task");
  });

  it("gets 403 on every admin route", async () => {
    const routes: [Method, string, unknown?][] = [
      ["GET", "/api/v1/webhooks"],
      ["POST", "/api/v1/webhooks", { team_id: acme.teamId, name: "x", events: ["issues"] }],
      ["GET", "/api/v1/api-keys"],
      ["POST", "/api/v1/api-keys", { name: "x" }],
      ["POST", `/api/v1/agents/${reviewer.id}/keys`],
      ["GET", `/api/v1/orgs/${acme.orgId}`],
      ["PATCH", `/api/v1/orgs/${acme.orgId}`, { name: "x" }],
      ["GET", `/api/v1/orgs/${acme.orgId}/teams`],
      ["GET", `/api/v1/teams/${acme.teamId}`],
      ["POST", `/api/v1/teams/${acme.teamId}/agents`, { name: "x", role: "engineer" }],
      ["PATCH", `/api/v1/agents/${engineer.id}`, { name: "renamed" }],
      ["PATCH", `/api/v1/agents/${reviewer.id}`, { status: "paused" }],
      ["GET", "/api/v1/outbound-webhooks"],
      ["GET", "/api/v1/installations"],
      ["POST", "/api/v1/auth/token"],
    ];
    for (const [method, url, body] of routes) {
      const res = await asAgent(engineer.key, method, url, body);
      expect({ method, url, status: res.status, code: res.body.error.code }).toEqual({ method, url, status: 403, code: "forbidden" });
    }
    expect((await admin("GET", `/api/v1/agents/${reviewer.id}`)).body.status).toBe("idle");
  });

  it("may set its own agent's status", async () => {
    const res = await asAgent(reviewer.key, "PATCH", `/api/v1/agents/${reviewer.id}`, { status: "paused" });
    expect(res).toMatchObject({ status: 200, body: { status: "paused" } });
    expect((await asAgent(reviewer.key, "PATCH", `/api/v1/agents/${reviewer.id}`, { status: "idle" })).status).toBe(200);
  });

  it("acknowledges only its own task", async () => {
    const task = await newTask(acme, acme.teamId, "Reviewer's task");
    await admin("PATCH", `/api/v1/tasks/${task}`, { assignee_id: reviewer.id });
    const refused = await asAgent(engineer.key, "POST", `/api/v1/tasks/${task}/acknowledge`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({ code: "not_assignee", message: `task #${task} is assigned to another agent; only its assignee acknowledges it` });
    const first = await asAgent(reviewer.key, "POST", `/api/v1/tasks/${task}/acknowledge`);
    const again = await asAgent(reviewer.key, "POST", `/api/v1/tasks/${task}/acknowledge`);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body.acknowledged_at).toBe(first.body.acknowledged_at);
  });

  it("is refused with 401 at once after the key is revoked", async () => {
    const agent = await newAgent("short-lived");
    expect((await asAgent(agent.key, "GET", `/api/v1/tasks/${ownTask}`)).status).toBe(200);
    const keyId = (await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM api_keys WHERE agent_id = $1", [agent.id])).rows[0]!.id;
    expect((await admin("DELETE", `/api/v1/api-keys/${keyId}`)).status).toBe(204);
    const res = await asAgent(agent.key, "GET", `/api/v1/tasks/${ownTask}`);
    expect(res.status).toBe(401);
    expect((await call("GET", `/api/v1/tasks/${ownTask}`, { authorization: `Bearer ${agent.key}` })).status).toBe(401);
  });
});

describe("a paused agent", () => {
  it("still reads, is dispatched nothing, and gets its task once it is idle again", async () => {
    const agent = await newAgent("napper");
    expect((await admin("PATCH", `/api/v1/agents/${agent.id}`, { status: "paused" })).status).toBe(200);
    const task = await newTask(acme, acme.teamId, "Waits for the napper");
    expect((await admin("PATCH", `/api/v1/tasks/${task}`, { assignee_id: agent.id })).status).toBe(200);
    expect((await asAgent(agent.key, "GET", `/api/v1/tasks/${task}`)).status).toBe(200);
    const dispatchJobsDone = async () => (await sql<{ n: number }>(rt.database.dataSource,
      "SELECT count(*)::integer AS n FROM job_outbox WHERE job_name = 'dispatch' AND payload->>'taskId' = $1 AND finished_at IS NOT NULL", [String(task)])).rows[0]!.n;
    await waitFor(async () => (await dispatchJobsDone()) >= 1, 20_000, "the dispatch job to run");
    expect((await admin("GET", `/api/v1/tasks/${task}`)).body.dispatched_at).toBeNull();
    expect((await admin("GET", `/api/v1/agents/${agent.id}`)).body.status).toBe("paused");

    expect((await admin("PATCH", `/api/v1/agents/${agent.id}`, { status: "idle" })).status).toBe(200);
    await waitFor(async () => (await admin("GET", `/api/v1/tasks/${task}`)).body.dispatched_at !== null, 20_000, "dispatch after the pause");
    expect((await admin("GET", `/api/v1/agents/${agent.id}`)).body.status).toBe("working");
  });
});
