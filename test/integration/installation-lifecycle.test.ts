import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { example, issueOpened } from "../helpers/github-events.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { apiClient, deliverToApp } from "../helpers/http.js";

let rt: TestRuntime;
let acme: Tenant;
const ID = 88_001;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "installations" });
  acme = await createTenant(rt, "acme", "Acme-Corp");
});
afterAll(async () => {
  await rt?.stop();
});

/** A real installation event example, pointed at our installation and account. */
function installationEvent(event: "installation" | "installation_repositories", action: string, edit: (p: Record<string, any>) => void = () => undefined) {
  const payload = example(event, action);
  payload.installation.id = ID;
  payload.installation.account.login = "acme-corp";
  payload.sender.type = "User";
  edit(payload);
  return deliverToApp(rt, event, payload);
}

async function installation() {
  return (await sql<{ org_id: string; repositories: string[] | null; repository_selection: string; suspended_at: Date | null; deleted_at: Date | null; permissions: Record<string, string> }>(
    rt.database.dataSource, "SELECT * FROM installations WHERE github_installation_id = $1", [ID])).rows[0]!;
}

async function webhook() {
  return (await sql<{ id: string; active: boolean; team_id: string }>(rt.database.dataSource, "SELECT * FROM webhooks WHERE installation_id = (SELECT id FROM installations WHERE github_installation_id = $1)", [ID])).rows[0]!;
}

function issueOn(repo: string, number: number) {
  return deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", repo, number, installationId: ID }));
}

describe("the installation lifecycle", () => {
  it("created: an installation row linked to the org by github_login (any case), with its webhook row for the org's only team", async () => {
    const d = await installationEvent("installation", "created", (p) => {
      p.installation.repository_selection = "selected";
      p.repositories = [{ id: 1, name: "web", full_name: "acme-corp/web", private: false }];
    });
    expect(d).toMatchObject({ status: "processed", action_taken: `installation_created:${ID}` });
    expect(await installation()).toMatchObject({ org_id: acme.orgId, repository_selection: "selected", repositories: ["acme-corp/web"], deleted_at: null });
    expect(await webhook()).toMatchObject({ active: true, team_id: acme.teamId });
  });

  it("installation_repositories: added and removed repositories are followed; events of others are ignored", async () => {
    await installationEvent("installation_repositories", "added", (p) => {
      p.repository_selection = "selected";
      p.repositories_added = [{ id: 2, name: "api", full_name: "acme-corp/api", private: false }];
      p.repositories_removed = [];
    });
    expect((await installation()).repositories).toEqual(["acme-corp/web", "acme-corp/api"]);
    await installationEvent("installation_repositories", "removed", (p) => {
      p.repository_selection = "selected";
      p.repositories_added = [];
      p.repositories_removed = [{ id: 1, name: "web", full_name: "acme-corp/web", private: false }];
    });
    expect((await installation()).repositories).toEqual(["acme-corp/api"]);
    expect((await issueOn("api", 1)).status).toBe("processed");
    const removed = await issueOn("web", 2);
    expect(removed).toMatchObject({ status: "ignored", action_taken: `ignored: repository acme-corp/web is not covered by installation ${ID}` });
  });

  it("suspend ignores deliveries; unsuspend accepts them again", async () => {
    await installationEvent("installation", "suspend");
    expect((await installation()).suspended_at).not.toBeNull();
    expect((await issueOn("api", 3)).action_taken).toBe(`ignored: installation ${ID} is suspended`);
    await installationEvent("installation", "unsuspend");
    expect((await issueOn("api", 4)).status).toBe("processed");
  });

  it("admins see which repositories feed which team, and change the team and auto_assign in one place", async () => {
    const api = apiClient(rt, acme.apiKey);
    const list = await api.get("/api/v1/installations");
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    const view = list.body.data[0];
    expect(view).toMatchObject({ github_installation_id: ID, account_login: "acme-corp", repositories: ["acme-corp/api"], team_id: acme.teamId, events: ["issues", "pull_request", "issue_comment", "pull_request_review"] });
    const second = (await sql<{ id: string }>(rt.database.dataSource, "INSERT INTO teams (org_id, slug, name) VALUES ($1, 'second', 'Second') RETURNING id", [acme.orgId])).rows[0]!;
    const patched = await api.patch(`/api/v1/installations/${view.id}`, { team_id: second.id, auto_assign: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ team_id: second.id, config: { auto_assign: true } });
    // One source of truth: the installation's webhook row changed.
    expect(await webhook()).toMatchObject({ team_id: second.id });
    expect((await issueOn("api", 20)).status).toBe("processed");
    expect((await sql<{ team_id: string; auto_assign: boolean }>(rt.database.dataSource, "SELECT team_id, auto_assign FROM tasks WHERE source->>'number' = '20'")).rows[0]).toEqual({ team_id: second.id, auto_assign: true });
    expect((await api.patch(`/api/v1/installations/${view.id}`, {})).status).toBe(400);
    expect((await api.patch(`/api/v1/installations/${view.id}`, { team_id: (await createTenant(rt, "x-org")).teamId })).status).toBe(400);

    const stranger = apiClient(rt, (await createTenant(rt, "stranger")).apiKey);
    expect((await stranger.get(`/api/v1/installations/${view.id}`)).status).toBe(404);
    expect((await stranger.patch(`/api/v1/installations/${view.id}`, { auto_assign: false })).status).toBe(404);
    expect((await stranger.get("/api/v1/installations")).body.data).toEqual([]);
    const { key } = await createApiKey(rt.database.dataSource, { orgId: acme.orgId, role: "agent" });
    expect((await apiClient(rt, key).patch(`/api/v1/installations/${view.id}`, { auto_assign: false })).status).toBe(403);
    await api.patch(`/api/v1/installations/${view.id}`, { team_id: acme.teamId, auto_assign: false });
  });

  it("new_permissions_accepted is recorded", async () => {
    const d = await installationEvent("installation", "new_permissions_accepted", (p) => {
      p.installation.permissions = { issues: "write", pull_requests: "read", metadata: "read", contents: "read" };
    });
    expect(d.action_taken).toBe(`installation_new_permissions_accepted:${ID}`);
    expect((await installation()).permissions).toMatchObject({ contents: "read" });
  });

  it("deleted: installation and webhook inactive, history kept", async () => {
    const before = (await sql(rt.database.dataSource, "SELECT id FROM webhook_deliveries WHERE webhook_id = $1", [(await webhook()).id])).rows.length;
    await installationEvent("installation", "deleted");
    expect((await installation()).deleted_at).not.toBeNull();
    expect((await webhook()).active).toBe(false);
    expect((await issueOn("api", 5)).action_taken).toBe(`ignored: installation ${ID} was deleted`);
    const after = (await sql(rt.database.dataSource, "SELECT id FROM webhook_deliveries WHERE webhook_id = $1", [(await webhook()).id])).rows.length;
    expect(after).toBeGreaterThanOrEqual(before);
    expect((await sql(rt.database.dataSource, "SELECT id FROM tasks WHERE org_id = $1", [acme.orgId])).rows.length).toBeGreaterThan(0);
  });

  it("from all repositories to selected ones: GitHub is asked which repositories the installation still covers", async () => {
    const other = 88_002;
    const onOther = (event: "installation" | "installation_repositories", action: string, edit: (p: Record<string, any>) => void) =>
      installationEvent(event, action, (p) => {
        edit(p);
        p.installation.id = other;
      });
    await onOther("installation", "created", (p) => {
      p.installation.repository_selection = "all";
    });
    const covered = async () => (await sql<{ repository_selection: string; repositories: string[] | null }>(rt.database.dataSource,
      "SELECT repository_selection, repositories FROM installations WHERE github_installation_id = $1", [other])).rows[0]!;
    expect(await covered()).toEqual({ repository_selection: "all", repositories: null });
    rt.github.installationRepositories.push("acme-corp/api", "acme-corp/docs");
    const listed = rt.github.requests.length;
    await onOther("installation_repositories", "removed", (p) => {
      p.repository_selection = "selected";
      p.repositories_added = [];
      p.repositories_removed = [{ id: 1, name: "web", full_name: "acme-corp/web", private: false }];
    });
    expect(await covered()).toEqual({ repository_selection: "selected", repositories: ["acme-corp/api", "acme-corp/docs"] });
    expect(rt.github.requests.slice(listed).filter((r) => r.startsWith("GET /installation/repositories"))).toHaveLength(1);
    const issueOnOther = (repo: string, number: number) => deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", repo, number, installationId: other }));
    // The organization has two teams by now: the admin picks the one this installation feeds.
    const { id } = (await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM installations WHERE github_installation_id = $1", [other])).rows[0]!;
    expect((await apiClient(rt, acme.apiKey).patch(`/api/v1/installations/${id}`, { team_id: acme.teamId })).status).toBe(200);
    expect(await issueOnOther("docs", 30)).toMatchObject({ status: "processed", action_taken: expect.stringMatching(/^task_created:/) });
    expect((await issueOnOther("web", 31)).action_taken).toBe(`ignored: repository acme-corp/web is not covered by installation ${other}`);
  });
});
