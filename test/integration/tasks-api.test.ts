import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SignJWT } from "jose";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;
let acmeKeyId: string;
let globex: Tenant;
let engineer: string;
let otherTeamId: string;
let otherTeamAgent: string;
let globexAgent: string;

async function addAgent(orgId: string, teamId: string, name: string): Promise<string> {
  const result = await sql<{ id: string }>(
    rt.database.dataSource,
    "INSERT INTO agents (org_id, team_id, name, role) VALUES ($1, $2, $3, 'engineer') RETURNING id",
    [orgId, teamId, name],
  );
  return result.rows[0]!.id;
}

beforeAll(async () => {
  rt = await startTestRuntime({ label: "tasks_api" });
  acme = await createTenant(rt, "acme");
  globex = await createTenant(rt, "globex");
  const keys = await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM api_keys WHERE org_id = $1", [acme.orgId]);
  acmeKeyId = keys.rows[0]!.id;
  engineer = await addAgent(acme.orgId, acme.teamId, "eng-frontend");
  otherTeamId = (await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "platform" })).id;
  otherTeamAgent = await addAgent(acme.orgId, otherTeamId, "eng-platform");
  globexAgent = await addAgent(globex.orgId, globex.teamId, "eng-globex");
});
afterAll(async () => {
  await rt?.stop();
});

type Method = "GET" | "POST" | "PATCH" | "PUT";

function call(method: Method, url: string, key: string | undefined, payload?: unknown, headers: Record<string, string> = {}) {
  return rt.server.inject({
    method,
    url,
    headers: { ...(key ? { "x-api-key": key } : {}), ...headers },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

async function create(body: Record<string, unknown>, teamId = acme.teamId, key = acme.apiKey) {
  const res = await call("POST", `/api/v1/teams/${teamId}/tasks`, key, body);
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function taskEvents(taskId: number) {
  const result = await sql<{ type: string; actor_type: string; actor_id: string | null; to_status: string | null; data: Record<string, unknown> }>(
    rt.database.dataSource,
    "SELECT type, actor_type, actor_id, to_status, data FROM task_events WHERE task_id = $1 ORDER BY created_at, id",
    [taskId],
  );
  return result.rows;
}

async function taskRow(id: number) {
  const result = await sql<Record<string, unknown>>(rt.database.dataSource, "SELECT * FROM tasks WHERE id = $1", [id]);
  return result.rows[0]!;
}

describe("POST /api/v1/teams/:team_id/tasks", () => {
  it("creates a task with defaults and records task.created against the API key", async () => {
    const task = await create({ title: "Add dark mode support" });
    expect(task).toMatchObject({
      id: expect.any(Number), org_id: acme.orgId, team_id: acme.teamId, title: "Add dark mode support", description: "",
      priority: "medium", status: "todo", tags: [], assignee_id: null, parent_id: null, source: null,
    });
    expect(await taskEvents(task.id)).toEqual([
      expect.objectContaining({ type: "task.created", actor_type: "api_key", actor_id: acmeKeyId, to_status: "todo" }),
    ]);
    const shown = await call("GET", `/api/v1/tasks/${task.id}`, acme.apiKey);
    expect(shown.json()).toEqual(task);
  });

  it("takes description, priority, tags, an assignee of the team and a parent of the team", async () => {
    const parent = await create({ title: "Add dark mode support" });
    const task = await create({
      title: "Create dark color palette", description: "Use the design tokens", priority: "critical",
      tags: ["frontend", "design"], assignee_id: engineer, parent_id: parent.id,
    });
    expect(task).toMatchObject({
      title: "Create dark color palette", description: "Use the design tokens", priority: "critical",
      tags: ["frontend", "design"], assignee_id: engineer, parent_id: parent.id, status: "todo",
    });
    const [created, assigned] = await taskEvents(task.id);
    expect(created!.data).toMatchObject({ priority: "critical", parent_id: parent.id });
    expect([assigned!.type, assigned!.data.agent_id]).toEqual(["task.assigned", engineer]);
  });

  it("records a bearer token's subject as a user", async () => {
    const token = await new SignJWT({ org_id: acme.orgId, role: "admin" })
      .setProtectedHeader({ alg: "HS256" }).setSubject("alice@example.com").setIssuedAt().setExpirationTime("5m")
      .sign(new TextEncoder().encode(rt.config.jwtSecret!));
    const res = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, undefined, { title: "From a person" }, { authorization: `Bearer ${token}` });
    expect(res.statusCode).toBe(201);
    expect(await taskEvents(res.json().id)).toEqual([
      expect.objectContaining({ type: "task.created", actor_type: "user", actor_id: "alice@example.com" }),
    ]);
  });

  it("lets an agent key create tasks", async () => {
    const { key, record } = await createApiKey(rt.database.dataSource, { orgId: acme.orgId, role: "agent" });
    const task = await create({ title: "Sub-task from the manager agent" }, acme.teamId, key);
    expect(await taskEvents(task.id)).toEqual([expect.objectContaining({ actor_type: "api_key", actor_id: record.id })]);
  });

  it("refuses each kind of bad body with 400 and creates nothing", async () => {
    const parentElsewhere = await create({ title: "platform work" }, otherTeamId);
    const before = (await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM tasks")).rows[0]!.n;
    const cases: [unknown, string][] = [
      [{}, "invalid_request"],
      [{ title: "" }, "invalid_request"],
      [{ title: "   " }, "invalid_request"],
      [{ title: 42 }, "invalid_request"],
      [{ title: "x".repeat(501) }, "invalid_request"],
      [{ title: "nul\u0000byte" }, "invalid_request"],
      [{ title: "t", description: 7 }, "invalid_request"],
      [{ title: "t", priority: "urgent" }, "invalid_request"],
      [{ title: "t", tags: "frontend" }, "invalid_request"],
      [{ title: "t", tags: [""] }, "invalid_request"],
      [{ title: "t", tags: [1] }, "invalid_request"],
      [{ title: "t", tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, "invalid_request"],
      [{ title: "t", assignee_id: "eng-frontend" }, "invalid_request"],
      [{ title: "t", assignee_id: otherTeamAgent }, "invalid_assignee"],
      [{ title: "t", assignee_id: globexAgent }, "invalid_assignee"],
      [{ title: "t", assignee_id: "00000000-0000-4000-8000-000000000000" }, "invalid_assignee"],
      [{ title: "t", parent_id: parentElsewhere.id }, "invalid_parent"],
      [{ title: "t", parent_id: 2_000_000_000 }, "invalid_parent"],
      [{ title: "t", parent_id: "1" }, "invalid_request"],
      [{ title: "t", parent_id: 0 }, "invalid_request"],
      [{ title: "t", status: "done" }, "invalid_request"],
      [{ title: "t", org_id: globex.orgId }, "invalid_request"],
    ];
    for (const [payload, code] of cases) {
      const res = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, payload);
      expect({ payload, status: res.statusCode, code: res.json().error?.code }).toEqual({ payload, status: 400, code });
    }
    const notJson = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, "{title", { "content-type": "application/json" });
    expect(notJson.statusCode).toBe(400);
    expect((await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM tasks")).rows[0]!.n).toBe(before);
  });

  it("answers 404 for another organization's team or an unknown one, 400 for a malformed id, 401 without a key", async () => {
    const cross = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, globex.apiKey, { title: "sneaky" });
    expect(cross.statusCode).toBe(404);
    expect((await call("POST", "/api/v1/teams/00000000-0000-4000-8000-000000000000/tasks", acme.apiKey, { title: "t" })).statusCode).toBe(404);
    expect((await call("POST", "/api/v1/teams/core/tasks", acme.apiKey, { title: "t" })).statusCode).toBe(400);
    const anonymous = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, undefined, { title: "t" });
    expect(anonymous.statusCode).toBe(401);
    const tasks = await sql(rt.database.dataSource, "SELECT 1 FROM tasks WHERE title = 'sneaky'");
    expect(tasks.rows).toHaveLength(0);
  });
});

describe("PATCH /api/v1/tasks/:id", () => {
  it("changes fields and records one task.updated row with what changed", async () => {
    const task = await create({ title: "Old title", tags: ["a"] });
    const res = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { title: "New title", priority: "high", tags: ["a", "b"], description: "more" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: task.id, title: "New title", priority: "high", tags: ["a", "b"], description: "more", status: "todo" });
    const events = await taskEvents(task.id);
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({
      type: "task.updated", actor_type: "api_key", actor_id: acmeKeyId, to_status: null,
      data: {
        changes: {
          title: { from: "Old title", to: "New title" },
          priority: { from: "medium", to: "high" },
          tags: { from: ["a"], to: ["a", "b"] },
          description: { from: "", to: "more" },
        },
      },
    });
  });

  it("records nothing when nothing changes", async () => {
    const task = await create({ title: "Same", priority: "low" });
    const res = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { title: "Same", priority: "low" });
    expect(res.statusCode).toBe(200);
    expect(await taskEvents(task.id)).toHaveLength(1);
  });

  it("assigns an agent of the task's team and unassigns with null", async () => {
    const task = await create({ title: "Needs an owner" });
    const assigned = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { assignee_id: engineer });
    expect(assigned.statusCode).toBe(200);
    expect(assigned.json().assignee_id).toBe(engineer);
    const unassigned = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { assignee_id: null });
    expect(unassigned.json().assignee_id).toBeNull();
    const events = (await taskEvents(task.id)).filter((e) => e.type.endsWith("assigned")).map((e) => [e.type, e.data.agent_id]);
    expect(events).toEqual([["task.assigned", engineer], ["task.unassigned", engineer]]);
    for (const [assignee, code] of [[otherTeamAgent, "invalid_assignee"], [globexAgent, "invalid_assignee"], ["nobody", "invalid_request"]] as const) {
      const res = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { assignee_id: assignee });
      expect({ assignee, status: res.statusCode, code: res.json().error.code }).toEqual({ assignee, status: 400, code });
    }
    expect((await taskRow(task.id)).assignee_id).toBeNull();
  });

  it("moves the status through the state machine: illegal moves change nothing, legal ones apply with the other fields", async () => {
    const task = await create({ title: "Stays todo" });
    const illegal = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { status: "done", title: "Sneaky rename" });
    expect([illegal.statusCode, illegal.json().error.code]).toEqual([409, "illegal_transition"]);
    expect(await taskRow(task.id)).toMatchObject({ status: "todo", title: "Stays todo" });
    expect((await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { status: null })).statusCode).toBe(400);
    const moved = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { status: "in_progress", title: "Started" });
    expect(moved.statusCode).toBe(200);
    expect(await taskRow(task.id)).toMatchObject({ status: "in_progress", title: "Started" });
    expect((await taskEvents(task.id)).map((e) => [e.type, e.to_status])).toEqual([
      ["task.created", "todo"], ["task.updated", null], ["task.status_changed", "in_progress"],
    ]);
  });

  it("refuses other bad bodies with 400", async () => {
    const task = await create({ title: "Validated" });
    const cases: unknown[] = [
      {}, { title: "" }, { title: "  " }, { priority: "urgent" }, { tags: "x" }, { tags: [""] }, { description: null },
      { parent_id: 1 }, { team_id: otherTeamId }, { id: 99 }, { title: "nul\u0000" },
    ];
    for (const payload of cases) {
      const res = await call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, payload);
      expect({ payload, status: res.statusCode, code: res.json().error?.code }).toEqual({ payload, status: 400, code: "invalid_request" });
    }
    expect(await taskRow(task.id)).toMatchObject({ title: "Validated", team_id: acme.teamId });
  });

  it("answers 404 to another organization and for unknown tasks, 400 for malformed ids, 401 without a key", async () => {
    const task = await create({ title: "Acme only" });
    const cross = await call("PATCH", `/api/v1/tasks/${task.id}`, globex.apiKey, { title: "Globex was here" });
    expect(cross.statusCode).toBe(404);
    expect(cross.body).not.toContain("Acme only");
    expect((await call("GET", `/api/v1/tasks/${task.id}`, globex.apiKey)).statusCode).toBe(404);
    expect((await call("PATCH", "/api/v1/tasks/2000000000", acme.apiKey, { title: "x" })).statusCode).toBe(404);
    expect((await call("PATCH", "/api/v1/tasks/abc", acme.apiKey, { title: "x" })).statusCode).toBe(400);
    expect((await call("PATCH", `/api/v1/tasks/${task.id}`, undefined, { title: "x" })).statusCode).toBe(401);
    expect(await taskRow(task.id)).toMatchObject({ title: "Acme only" });
    expect(await taskEvents(task.id)).toHaveLength(1);
  });

  it("keeps the audit trail a chain when several PATCHes run at once", async () => {
    const task = await create({ title: "v0" });
    const titles = ["v1", "v2", "v3", "v4", "v5", "v6"];
    const results = await Promise.all(titles.map((title) => call("PATCH", `/api/v1/tasks/${task.id}`, acme.apiKey, { title })));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const updates = (await taskEvents(task.id)).slice(1).map((e) => (e.data.changes as { title: { from: string; to: string } }).title);
    expect(updates).toHaveLength(6);
    // Each change starts where another ended: no two PATCHes read the same old title, so the changes form one chain.
    expect(new Set(updates.map((u) => u.from)).size).toBe(6);
    const next = new Map(updates.map((u) => [u.from, u.to]));
    let current = "v0";
    for (let i = 0; i < 6; i++) {
      expect(next.has(current)).toBe(true);
      current = next.get(current)!;
    }
    expect((await taskRow(task.id)).title).toBe(current);
  });
});

describe("text is stored and returned verbatim", () => {
  const hostile = [
    "'; DROP TABLE tasks; --",
    "Robert'); DROP TABLE students;--",
    "{\"$ne\":1}",
    "{a,b}",
    "NULL",
    "\" OR \"1\"=\"1",
    "back\\slash and \"quotes\"",
    "<script>alert(1)</script>",
    "%s %d ${process.env} {{7*7}}",
    "  leading and trailing spaces  ",
    "tab\tnew\nline",
    "Ünïcödé 日本語 עברית العربية",
    "🔥🚀 fix 👩🏽‍💻",
    "a+b&c=d?e#f",
  ];

  it("keeps hostile titles, descriptions and tags unchanged, and the tag filter finds exactly the right task", async () => {
    const team = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "verbatim" });
    const made: { id: number; value: string }[] = [];
    for (const value of hostile) {
      const task = await create({ title: value, description: value, tags: [value, `${value}-other`] }, team.id);
      expect(task).toMatchObject({ title: value, description: value, tags: [value, `${value}-other`] });
      made.push({ id: task.id, value });
    }
    for (const { id, value } of made) {
      const shown = (await call("GET", `/api/v1/tasks/${id}`, acme.apiKey)).json();
      expect({ title: shown.title, description: shown.description, tags: shown.tags }).toEqual({ title: value, description: value, tags: [value, `${value}-other`] });
      const found = await call("GET", `/api/v1/teams/${team.id}/tasks?tag=${encodeURIComponent(value)}`, acme.apiKey);
      expect(found.statusCode).toBe(200);
      expect(found.json().data.map((t: { id: number }) => t.id)).toEqual([id]);
    }
    const renamed = await call("PATCH", `/api/v1/tasks/${made[0]!.id}`, acme.apiKey, { title: hostile[2], tags: [hostile[3]!, hostile[4]!] });
    expect(renamed.json()).toMatchObject({ title: hostile[2], tags: [hostile[3], hostile[4]] });
    const stillThere = await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM tasks WHERE team_id = $1", [team.id]);
    expect(stillThere.rows[0]!.n).toBe(hostile.length);
  });
});

describe("GET /api/v1/teams/:team_id/tasks", () => {
  it("pages newest first and filters by priority, tag and assignee", async () => {
    const team = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "paging" });
    const agent = await addAgent(acme.orgId, team.id, "pager");
    const made: number[] = [];
    for (let i = 0; i < 5; i++) {
      const task = await create({ title: `task ${i}`, priority: i % 2 ? "high" : "low", tags: i === 3 ? ["special"] : [], ...(i === 4 ? { assignee_id: agent } : {}) }, team.id);
      made.push(task.id);
    }
    const seen: number[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await call("GET", `/api/v1/teams/${team.id}/tasks?limit=2${cursor ? `&cursor=${cursor}` : ""}`, acme.apiKey);
      expect(res.statusCode).toBe(200);
      sizes.push(res.json().data.length);
      seen.push(...res.json().data.map((t: { id: number }) => t.id));
      cursor = res.json().next_cursor;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...made].reverse());

    const ids = async (query: string) => (await call("GET", `/api/v1/teams/${team.id}/tasks?${query}`, acme.apiKey)).json().data.map((t: { id: number }) => t.id);
    expect(await ids("priority=high")).toEqual([made[3], made[1]]);
    expect(await ids("tag=special")).toEqual([made[3]]);
    expect(await ids(`assignee_id=${agent}`)).toEqual([made[4]]);
    expect((await call("GET", `/api/v1/teams/${team.id}/tasks?priority=urgent`, acme.apiKey)).statusCode).toBe(400);
    expect((await call("GET", `/api/v1/teams/${team.id}/tasks`, globex.apiKey)).statusCode).toBe(404);
    expect((await call("GET", `/api/v1/teams/${team.id}/tasks`, undefined)).statusCode).toBe(401);
  });

  it("filters by status", async () => {
    const team = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "statuses" });
    const made: number[] = [];
    for (const title of ["waiting", "started", "reviewed", "dropped", "also waiting"]) made.push((await create({ title }, team.id)).id as number);
    const move = async (id: number, ...statuses: string[]) => {
      for (const status of statuses) expect((await call("PATCH", `/api/v1/tasks/${id}`, acme.apiKey, { status })).statusCode).toBe(200);
    };
    await move(made[1]!, "in_progress");
    await move(made[2]!, "in_progress", "in_review");
    await move(made[3]!, "cancelled");
    const ids = async (status: string) => {
      const res = await call("GET", `/api/v1/teams/${team.id}/tasks?status=${status}`, acme.apiKey);
      expect(res.statusCode).toBe(200);
      return res.json().data.map((t: { id: number; status: string }) => [t.id, t.status]);
    };
    expect(await ids("todo")).toEqual([[made[4], "todo"], [made[0], "todo"]]);
    expect(await ids("in_progress")).toEqual([[made[1], "in_progress"]]);
    expect(await ids("in_review")).toEqual([[made[2], "in_review"]]);
    expect(await ids("cancelled")).toEqual([[made[3], "cancelled"]]);
    expect(await ids("done")).toEqual([]);
    expect((await call("GET", `/api/v1/teams/${team.id}/tasks?status=finished`, acme.apiKey)).statusCode).toBe(400);
  });
});

describe("limits said once and the same everywhere", () => {
  const TASK_ID_RULE = "must be a task number from 1 to 2147483647";

  it("a task number out of range gets one limit, whatever the route and however it is wrong", async () => {
    const task = await create({ title: "Numbered" });
    for (const id of ["99999999999999999999", "2147483648", "0", "-1", "1.5", "abc", "1e400"]) {
      for (const [method, url] of [["GET", `/api/v1/tasks/${id}`], ["POST", `/api/v1/tasks/${id}/acknowledge`], ["GET", `/api/v1/tasks/${id}/events`]] as const) {
        const res = await call(method, url, acme.apiKey);
        expect({ url, status: res.statusCode, error: res.json().error }).toEqual({
          url, status: 400, error: { code: "invalid_request", message: `params is invalid: id: ${TASK_ID_RULE}` },
        });
      }
    }
    for (const parent of [1e20, 2147483648, 0, 1.5, "1"]) {
      const res = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, { title: "t", parent_id: parent });
      expect({ parent, message: res.json().error.message }).toEqual({ parent, message: `body is invalid: parent_id: ${TASK_ID_RULE}` });
    }
    const dependency = await call("PUT", `/api/v1/tasks/${task.id}/dependencies`, acme.apiKey, { depends_on: [1e20] });
    expect(dependency.json().error.message).toBe(`body is invalid: depends_on.0: ${TASK_ID_RULE}`);
    const filter = await call("GET", `/api/v1/outbound-webhooks/00000000-0000-4000-8000-000000000000/deliveries?task_id=99999999999999999999`, acme.apiKey);
    expect(filter.json().error.message).toBe(`querystring is invalid: task_id: ${TASK_ID_RULE}`);
  });

  it("a description has one limit, 100,000 characters, on create, PATCH and sub-tasks", async () => {
    const parent = await create({ title: "Described" });
    const longest = "d".repeat(100_000);
    const tooLong = `${longest}d`;
    const created = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, { title: "t", description: longest });
    const patched = await call("PATCH", `/api/v1/tasks/${parent.id}`, acme.apiKey, { description: longest });
    const subtask = await call("POST", `/api/v1/tasks/${parent.id}/subtasks`, acme.apiKey, { title: "s", description: longest });
    expect([created.statusCode, patched.statusCode, subtask.statusCode]).toEqual([201, 200, 201]);
    const refused = [
      await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, { title: "t", description: tooLong }),
      await call("PATCH", `/api/v1/tasks/${parent.id}`, acme.apiKey, { description: tooLong }),
      await call("POST", `/api/v1/tasks/${parent.id}/subtasks`, acme.apiKey, { title: "s", description: tooLong }),
    ];
    for (const res of refused) {
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/description: Too big: expected string to have <=100000 characters/);
    }
    const nul = await call("POST", `/api/v1/tasks/${parent.id}/subtasks`, acme.apiKey, { title: "s", description: "nul\u0000" });
    expect(nul.json().error.message).toMatch(/description: must not contain NUL characters/);
  });

  it("a body that is not JSON gets the receivers' 415, and a body over the limit a 413 that says the limit", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const res = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, "title=t", { "content-type": type });
      expect({ type, status: res.statusCode, body: res.json() }).toEqual({
        type, status: 415, body: { error: { code: "unsupported_media_type", message: "Content-Type must be application/json" } },
      });
    }
    const big = await call("POST", `/api/v1/teams/${acme.teamId}/tasks`, acme.apiKey, JSON.stringify({ title: "t", description: "x".repeat(1024 * 1024) }), {
      "content-type": "application/json",
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toEqual({ error: { code: "payload_too_large", message: "the body is larger than 1 MiB (1048576 bytes)" } });
  });
});
