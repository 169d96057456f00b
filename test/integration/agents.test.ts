import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import type { Agent } from "../../src/db/entities/agent.js";
import { sql } from "../../src/db/sql.js";
import { setAgentStatus } from "../../src/domain/agents.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { NotFoundError } from "../../src/domain/errors.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { countRows, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;
let rival: Tenant;
let agentKey: string;
let otherTeamId: string;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "agents" });
  acme = await createTenant(rt, "acme");
  rival = await createTenant(rt, "rival");
  agentKey = (await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "robot", role: "agent" })).key;
  otherTeamId = (await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "other" })).id;
});
afterAll(async () => {
  await rt?.stop();
});

function call(method: "GET" | "POST" | "PATCH", url: string, key: string | undefined, payload?: unknown) {
  return rt.server.inject({
    method, url,
    headers: key ? { "x-api-key": key } : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

const create = (payload: unknown, key = acme.apiKey, teamId = acme.teamId) => call("POST", `/api/v1/teams/${teamId}/agents`, key, payload);
const patch = (id: string, payload: unknown, key = acme.apiKey) => call("PATCH", `/api/v1/agents/${id}`, key, payload);
const get = (id: string, key = acme.apiKey) => call("GET", `/api/v1/agents/${id}`, key);

async function newAgent(name: string, role = "engineer", teamId = acme.teamId): Promise<Agent & { idle_since: string }> {
  const res = await create({ name, role }, acme.apiKey, teamId);
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function agentRow(id: string) {
  return (await sql<Agent>(rt.database.dataSource, "SELECT * FROM agents WHERE id = $1", [id])).rows[0];
}

describe("POST /api/v1/teams/:team_id/agents", () => {
  it("adds an idle agent to the team with its config", async () => {
    const before = Date.now();
    const res = await create({ name: "eng-frontend", role: "engineer", config: { model: "large", tools: ["git"] } });
    expect(res.statusCode).toBe(201);
    const agent = res.json();
    expect(agent).toEqual({
      id: expect.any(String), org_id: acme.orgId, team_id: acme.teamId, name: "eng-frontend", role: "engineer", status: "idle",
      config: { model: "large", tools: ["git"] }, idle_since: expect.any(String), created_at: expect.any(String), updated_at: expect.any(String),
    });
    expect(Date.parse(agent.idle_since)).toBeGreaterThanOrEqual(before - 1000);
    expect((await create({ name: "mgr", role: "manager" })).json().config).toEqual({});
  });

  it("answers 409 agent_name_taken for a name the team has; another team may use it", async () => {
    await newAgent("reviewer-1", "reviewer");
    const dup = await create({ name: "reviewer-1", role: "engineer" });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe("agent_name_taken");
    expect((await create({ name: "reviewer-1", role: "reviewer" }, acme.apiKey, otherTeamId)).statusCode).toBe(201);
  });

  it.each([
    ["a missing name", { role: "engineer" }],
    ["a missing role", { name: "x" }],
    ["a blank name", { name: " ", role: "engineer" }],
    ["a name of the wrong type", { name: 1, role: "engineer" }],
    ["an unknown role", { name: "x", role: "intern" }],
    ["a config that is not an object", { name: "x", role: "engineer", config: ["model"] }],
    ["a config of the wrong type", { name: "x", role: "engineer", config: "large" }],
    ["a NUL character in the name", { name: "x\u0000", role: "engineer" }],
    ["a NUL character deep in the config", { name: "x", role: "engineer", config: { tools: [{ ["k\u0000"]: "v" }] } }],
    ["a status given at creation", { name: "x", role: "engineer", status: "working" }],
    ["an unknown field", { name: "x", role: "engineer", team: "core" }],
  ])("answers 400 for %s and creates nothing", async (_what, payload) => {
    const before = await countRows(rt, "agents");
    const res = await create(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
    expect(await countRows(rt, "agents")).toBe(before);
  });

  it("answers 404 for another organization's team or an unknown one, 403 for an agent key, 401 without a key", async () => {
    const before = await countRows(rt, "agents");
    const res = await create({ name: "spy", role: "engineer" }, acme.apiKey, rival.teamId);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
    expect((await create({ name: "spy", role: "engineer" }, acme.apiKey, randomUUID())).statusCode).toBe(404);
    expect((await create({ name: "spy", role: "engineer" }, acme.apiKey, "core")).statusCode).toBe(400);
    const agent = await create({ name: "clone", role: "engineer" }, agentKey);
    expect(agent.statusCode).toBe(403);
    expect(agent.json().error.code).toBe("forbidden");
    expect((await create({ name: "ghost", role: "engineer" }, "")).statusCode).toBe(401);
    expect(await countRows(rt, "agents")).toBe(before);
  });
});

describe("GET /api/v1/teams/:team_id/agents and /api/v1/agents/:id", () => {
  let teamId: string;
  const made: Record<string, Agent> = {};

  beforeAll(async () => {
    teamId = (await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "listing" })).id;
    for (const [name, role] of [["a-eng", "engineer"], ["b-rev", "reviewer"], ["c-eng", "engineer"], ["d-mgr", "manager"], ["e-eng", "engineer"]]) {
      made[name!] = await newAgent(name!, role, teamId);
    }
    await patch(made["c-eng"]!.id, { status: "working" });
    await patch(made["e-eng"]!.id, { status: "paused" });
  });

  const list = (query: string, key = acme.apiKey) => call("GET", `/api/v1/teams/${teamId}/agents${query}`, key);
  const names = (res: { json(): { data: Agent[] } }) => res.json().data.map((a) => a.name);

  it("lists the team's agents newest first, page by page, to agents too", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`, agentKey);
      expect(res.statusCode).toBe(200);
      expect(res.json().data.length).toBeLessThanOrEqual(2);
      seen.push(...names(res));
      cursor = res.json().next_cursor;
    } while (cursor);
    expect(seen).toEqual(["e-eng", "d-mgr", "c-eng", "b-rev", "a-eng"]);
  });

  it("filters by status and role", async () => {
    expect(names(await list("?status=idle"))).toEqual(["d-mgr", "b-rev", "a-eng"]);
    expect(names(await list("?status=working"))).toEqual(["c-eng"]);
    expect(names(await list("?role=engineer"))).toEqual(["e-eng", "c-eng", "a-eng"]);
    expect(names(await list("?role=engineer&status=idle"))).toEqual(["a-eng"]);
    expect(names(await list("?role=engineer&status=idle&limit=1"))).toEqual(["a-eng"]);
    expect((await list("?status=sleeping")).statusCode).toBe(400);
    expect((await list("?role=intern")).statusCode).toBe(400);
  });

  it("answers 404 for another organization's team and 401 without a key", async () => {
    const res = await call("GET", `/api/v1/teams/${rival.teamId}/agents`, acme.apiKey);
    expect(res.statusCode).toBe(404);
    expect((await list("", "")).statusCode).toBe(401);
  });

  it("shows one agent of the organization; another organization's agent is not found", async () => {
    const res = await get(made["b-rev"]!.id, agentKey);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: made["b-rev"]!.id, name: "b-rev", role: "reviewer", status: "idle", team_id: teamId });
    const rivalAgent = (await create({ name: "theirs", role: "engineer" }, rival.apiKey, rival.teamId)).json();
    const other = await get(rivalAgent.id);
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain("theirs");
    expect((await get(randomUUID())).statusCode).toBe(404);
    expect((await get("eng")).statusCode).toBe(400);
    expect((await get(made["b-rev"]!.id, "")).statusCode).toBe(401);
  });
});

describe("PATCH /api/v1/agents/:id", () => {
  it("keeps idle_since with the status: set on becoming idle, kept while idle, cleared on leaving", async () => {
    const agent = await newAgent("status-walker");
    const working = (await patch(agent.id, { status: "working" })).json();
    expect(working).toMatchObject({ status: "working", idle_since: null });

    const beforeIdle = Date.now();
    const idle = (await patch(agent.id, { status: "idle" })).json();
    expect(idle.status).toBe("idle");
    expect(Date.parse(idle.idle_since)).toBeGreaterThanOrEqual(beforeIdle - 1000);
    expect(Date.parse(idle.idle_since)).toBeGreaterThan(Date.parse(agent.idle_since));

    const again = (await patch(agent.id, { status: "idle" })).json();
    expect(again.idle_since).toBe(idle.idle_since);
    expect(again.updated_at).toBe(idle.updated_at);

    expect((await patch(agent.id, { status: "paused" })).json()).toMatchObject({ status: "paused", idle_since: null });
    expect(await agentRow(agent.id)).toMatchObject({ status: "paused", idle_since: null });
  });

  it("changes name, role and config (config is replaced, not merged) together with status", async () => {
    const agent = (await create({ name: "renamed-later", role: "engineer", config: { model: "small", keep: true } })).json();
    const res = await patch(agent.id, { name: "eng-backend", role: "reviewer", config: { model: "large" }, status: "working" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: agent.id, name: "eng-backend", role: "reviewer", config: { model: "large" }, status: "working", idle_since: null });
    expect(await agentRow(agent.id)).toMatchObject({ name: "eng-backend", role: "reviewer", config: { model: "large" }, status: "working" });
  });

  it("answers 409 for a name the team already has, and applies none of the change", async () => {
    await newAgent("taken-name");
    const agent = await newAgent("wants-a-name");
    const res = await patch(agent.id, { name: "taken-name", status: "paused" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("agent_name_taken");
    expect(await agentRow(agent.id)).toMatchObject({ name: "wants-a-name", status: "idle" });
  });

  it.each([
    ["an empty body", {}],
    ["an unknown status", { status: "sleeping" }],
    ["a status of the wrong type", { status: true }],
    ["an unknown role", { role: "intern" }],
    ["a blank name", { name: "" }],
    ["a config that is not an object", { config: [1] }],
    ["a NUL character in the config", { config: { model: "v\u0000" } }],
    ["a field that cannot be changed", { team_id: randomUUID() }],
    ["an unknown field", { status: "idle", mood: "happy" }],
  ])("answers 400 for %s and changes nothing", async (_what, payload) => {
    const agent = await newAgent(`bad-body-${Object.keys(payload).join("-") || "empty"}-${randomUUID().slice(0, 8)}`);
    const res = await patch(agent.id, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
    expect(await agentRow(agent.id)).toMatchObject({ status: "idle", role: "engineer", team_id: acme.teamId });
  });

  it("lets an agent key change only the status", async () => {
    const agent = await newAgent("self-reporting");
    const status = await patch(agent.id, { status: "working" }, agentKey);
    expect(status.statusCode).toBe(200);
    expect(status.json().status).toBe("working");
    for (const payload of [{ name: "promoted" }, { role: "manager", status: "idle" }, { config: {} }]) {
      const res = await patch(agent.id, payload, agentKey);
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe("forbidden");
    }
    expect(await agentRow(agent.id)).toMatchObject({ name: "self-reporting", role: "engineer", status: "working" });
  });

  it("answers 404 for another organization's agent and leaves it as it was; 401 without a key", async () => {
    const theirs = (await create({ name: "their-agent", role: "engineer" }, rival.apiKey, rival.teamId)).json();
    const res = await patch(theirs.id, { status: "paused", name: "hijacked" });
    expect(res.statusCode).toBe(404);
    expect(await agentRow(theirs.id)).toMatchObject({ name: "their-agent", status: "idle" });
    expect((await patch(randomUUID(), { status: "idle" })).statusCode).toBe(404);
    expect((await patch(theirs.id, { status: "paused" }, "")).statusCode).toBe(401);
  });
});

describe("setAgentStatus", () => {
  it("is scoped to the organization", async () => {
    const agent = await newAgent("scoped");
    await expect(setAgentStatus(rt.database.dataSource, rival.orgId, agent.id, "paused")).rejects.toThrow(NotFoundError);
    expect((await agentRow(agent.id))!.status).toBe("idle");
  });

  it("gives one idle_since when many callers make the same agent idle at once", async () => {
    const agent = await newAgent("racing");
    await setAgentStatus(rt.database.dataSource, acme.orgId, agent.id, "working");
    const results = await Promise.all(Array.from({ length: 10 }, () => setAgentStatus(rt.database.dataSource, acme.orgId, agent.id, "idle")));
    const stamps = new Set(results.map((a) => a.idle_since!.toISOString()));
    expect(stamps.size).toBe(1);
    expect((await agentRow(agent.id))!.idle_since!.toISOString()).toBe([...stamps][0]);
  });
});
