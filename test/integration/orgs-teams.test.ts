import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { countRows, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;
let rival: Tenant;
let agentKey: string;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "orgs_teams" });
  acme = await createTenant(rt, "acme");
  rival = await createTenant(rt, "rival", "Rival-Inc");
  agentKey = (await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "robot", role: "agent" })).key;
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

const patchOrg = (id: string, payload: unknown, key = acme.apiKey) => call("PATCH", `/api/v1/orgs/${id}`, key, payload);
const createTeam = (payload: unknown, key = acme.apiKey, orgId = acme.orgId) => call("POST", `/api/v1/orgs/${orgId}/teams`, key, payload);

async function orgRow(id: string) {
  return (await sql(rt.database.dataSource, "SELECT name, github_login FROM organizations WHERE id = $1", [id])).rows[0];
}

describe("GET /api/v1/orgs/:id", () => {
  it("shows the caller's own organization, to admins and agents", async () => {
    const res = await call("GET", `/api/v1/orgs/${acme.orgId}`, acme.apiKey);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: acme.orgId, slug: "acme", name: "acme", github_login: null, created_at: expect.any(String), updated_at: expect.any(String),
    });
    expect((await call("GET", `/api/v1/orgs/${acme.orgId}`, agentKey)).json().id).toBe(acme.orgId);
  });

  it("answers 404 for another organization (never its data), 404 for an unknown id, 400 for a bad id, 401 without a key", async () => {
    const other = await call("GET", `/api/v1/orgs/${rival.orgId}`, acme.apiKey);
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain("rival");
    expect((await call("GET", `/api/v1/orgs/${randomUUID()}`, acme.apiKey)).statusCode).toBe(404);
    expect((await call("GET", "/api/v1/orgs/acme", acme.apiKey)).statusCode).toBe(400);
    expect((await call("GET", `/api/v1/orgs/${acme.orgId}`, undefined)).statusCode).toBe(401);
  });
});

describe("PATCH /api/v1/orgs/:id", () => {
  it("renames the organization and sets, then clears, its GitHub login", async () => {
    const before = (await call("GET", `/api/v1/orgs/${acme.orgId}`, acme.apiKey)).json();
    const res = await patchOrg(acme.orgId, { name: "Acme Corp", github_login: "acme-corp" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: acme.orgId, slug: "acme", name: "Acme Corp", github_login: "acme-corp" });
    expect(Date.parse(res.json().updated_at)).toBeGreaterThanOrEqual(Date.parse(before.updated_at));
    expect(await orgRow(acme.orgId)).toEqual({ name: "Acme Corp", github_login: "acme-corp" });

    expect((await patchOrg(acme.orgId, { github_login: "acme-corp" })).statusCode).toBe(200);
    const cleared = await patchOrg(acme.orgId, { github_login: null });
    expect(cleared.json()).toMatchObject({ name: "Acme Corp", github_login: null });
  });

  it("answers 409 github_login_taken for a login another organization holds, in any case", async () => {
    const res = await patchOrg(acme.orgId, { name: "Not applied", github_login: "rival-inc" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("github_login_taken");
    expect((await orgRow(acme.orgId))!.name).not.toBe("Not applied");
    expect((await orgRow(rival.orgId))!.github_login).toBe("Rival-Inc");
  });

  it.each([
    ["an empty body", {}],
    ["a blank name", { name: " " }],
    ["a name of the wrong type", { name: 7 }],
    ["a name with a NUL character", { name: "Acme\u0000" }],
    ["a login GitHub would not allow", { github_login: "acme corp" }],
    ["a login of the wrong type", { github_login: 123 }],
    ["a field that cannot be changed", { slug: "renamed" }],
    ["an unknown field", { name: "x", plan: "enterprise" }],
  ])("answers 400 for %s and changes nothing", async (_what, payload) => {
    const before = await orgRow(acme.orgId);
    const res = await patchOrg(acme.orgId, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
    expect(await orgRow(acme.orgId)).toEqual(before);
  });

  it("answers 404 for another organization and leaves it as it was; 403 for an agent key; 401 without a key", async () => {
    const res = await patchOrg(rival.orgId, { name: "Taken over" });
    expect(res.statusCode).toBe(404);
    expect(await orgRow(rival.orgId)).toEqual({ name: "rival", github_login: "Rival-Inc" });
    const agent = await patchOrg(acme.orgId, { name: "By an agent" }, agentKey);
    expect(agent.statusCode).toBe(403);
    expect(agent.json().error.code).toBe("forbidden");
    expect((await patchOrg(acme.orgId, { name: "Anonymous" }, "")).statusCode).toBe(401);
    expect((await orgRow(acme.orgId))!.name).toBe("Acme Corp");
  });
});

describe("POST /api/v1/orgs/:org_id/teams", () => {
  it("creates a team with a slug made from its name, or the one given", async () => {
    const res = await createTeam({ name: "Core Platform (EU)" });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: expect.any(String), org_id: acme.orgId, slug: "core-platform-eu", name: "Core Platform (EU)",
      created_at: expect.any(String), updated_at: expect.any(String),
    });
    const given = await createTeam({ name: "Frontend", slug: "web-ui" });
    expect(given.json()).toMatchObject({ slug: "web-ui", name: "Frontend" });
  });

  it("answers 409 team_slug_taken for a slug the organization has; another organization may use it", async () => {
    expect((await createTeam({ name: "Data", slug: "data" })).statusCode).toBe(201);
    const dup = await createTeam({ name: "Data (again)", slug: "data" });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe("team_slug_taken");
    expect((await createTeam({ name: "DATA" })).statusCode).toBe(409);
    expect((await createTeam({ name: "Data" }, rival.apiKey, rival.orgId)).statusCode).toBe(201);
  });

  it.each([
    ["a missing name", { slug: "x" }],
    ["a blank name", { name: "  " }],
    ["a name of the wrong type", { name: ["x"] }],
    ["a name with a NUL character", { name: "Core\u0000" }],
    ["a slug that is not lowercase-hyphenated", { name: "x", slug: "Bad Slug" }],
    ["a slug of the wrong type", { name: "x", slug: 5 }],
    ["a name with nothing to make a slug from", { name: "!!!" }],
    ["an unknown field", { name: "x", members: [] }],
  ])("answers 400 for %s and creates nothing", async (_what, payload) => {
    const before = await countRows(rt, "teams");
    const res = await createTeam(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
    expect(await countRows(rt, "teams")).toBe(before);
  });

  it("answers 404 for another organization (nothing made there), 403 for an agent key, 401 without a key", async () => {
    const before = await countRows(rt, "teams");
    const res = await createTeam({ name: "Intruders" }, acme.apiKey, rival.orgId);
    expect(res.statusCode).toBe(404);
    expect((await createTeam({ name: "Robots" }, agentKey)).statusCode).toBe(403);
    expect((await createTeam({ name: "Nobody" }, "")).statusCode).toBe(401);
    expect(await countRows(rt, "teams")).toBe(before);
  });

  it("makes exactly one team out of ten concurrent requests for the same slug", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => createTeam({ name: `Race ${i}`, slug: "race" })));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().error.code).toBe("team_slug_taken");
    const rows = await sql(rt.database.dataSource, "SELECT id FROM teams WHERE org_id = $1 AND slug = 'race'", [acme.orgId]);
    expect(rows.rows).toEqual([{ id: results.find((r) => r.statusCode === 201)!.json().id }]);
  });
});

describe("GET /api/v1/orgs/:org_id/teams and /api/v1/teams/:id", () => {
  it("lists the organization's teams newest first, page by page, to agents too", async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await createTeam({ name: `Paged ${i}` })).json().id);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call("GET", `/api/v1/orgs/${acme.orgId}/teams?limit=2${cursor ? `&cursor=${cursor}` : ""}`, agentKey);
      expect(res.statusCode).toBe(200);
      expect(res.json().data.length).toBeLessThanOrEqual(2);
      ids.push(...res.json().data.map((t: { id: string; org_id: string }) => {
        expect(t.org_id).toBe(acme.orgId);
        return t.id;
      }));
      cursor = res.json().next_cursor;
    } while (cursor);
    const all = await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM teams WHERE org_id = $1 ORDER BY created_at DESC, id DESC", [acme.orgId]);
    expect(ids).toEqual(all.rows.map((r) => r.id));
    expect(ids.slice(0, 3)).toEqual([...made].reverse());
  });

  it("answers 404 for another organization's list, 401 without a key", async () => {
    expect((await call("GET", `/api/v1/orgs/${rival.orgId}/teams`, acme.apiKey)).statusCode).toBe(404);
    expect((await call("GET", `/api/v1/orgs/${acme.orgId}/teams`, undefined)).statusCode).toBe(401);
  });

  it("shows one team of the organization; another organization's team is not found", async () => {
    const res = await call("GET", `/api/v1/teams/${acme.teamId}`, agentKey);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: acme.teamId, org_id: acme.orgId, slug: "core" });
    const other = await call("GET", `/api/v1/teams/${rival.teamId}`, acme.apiKey);
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe("not_found");
    expect((await call("GET", `/api/v1/teams/${randomUUID()}`, acme.apiKey)).statusCode).toBe(404);
    expect((await call("GET", "/api/v1/teams/core", acme.apiKey)).statusCode).toBe(400);
    expect((await call("GET", `/api/v1/teams/${acme.teamId}`, undefined)).statusCode).toBe(401);
  });
});
