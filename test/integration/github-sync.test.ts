import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { linkedReferences } from "../../src/domain/github-intake.js";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg, type AutoAssigningOrg } from "../helpers/auto-assign.js";
import { issueEvent, issueOpened, pullRequestClosed, pullRequestOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let org: AutoAssigningOrg;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "github_sync" });
  org = await autoAssigningOrg(rt, [], { auto_assign: false });
});
afterAll(async () => {
  await rt?.stop();
});

async function task(id: number) {
  return (await org.api.get(`/api/v1/tasks/${id}`)).body;
}

async function open(number: number, labels: string[] = []) {
  const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "sync", number, labels, installationId: org.installationId }));
  return d.task_id!;
}

function event(action: string, number: number, extra: Record<string, unknown> = {}, labels: string[] = []) {
  return deliverToApp(rt, "issues", issueEvent(action, { owner: org.owner, repo: "sync", number, labels, installationId: org.installationId }, extra));
}

describe("two-way sync with GitHub", () => {
  it("issues.closed cancels, issues.reopened brings it back to todo, as system moves", async () => {
    const id = await open(1);
    const closed = await event("closed", 1);
    expect(closed).toMatchObject({ status: "processed", action_taken: `task_cancelled:${id}` });
    expect((await task(id)).status).toBe("cancelled");
    const reopened = await event("reopened", 1);
    expect(reopened.action_taken).toBe(`task_reopened:${id}`);
    expect((await task(id)).status).toBe("todo");
    const events = (await org.api.get(`/api/v1/tasks/${id}/events`)).body.data as { from: string; to: string; actor_type: string; data: { system?: boolean } }[];
    expect(events.slice(0, 2).map((e) => [e.from, e.to, e.actor_type, e.data.system])).toEqual([["cancelled", "todo", "system", true], ["todo", "cancelled", "system", true]]);
  });

  it("a done task stays done when its issue is closed", async () => {
    const id = await open(2);
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) await org.api.post(`/api/v1/tasks/${id}/status`, { status });
    expect((await event("closed", 2)).action_taken).toBe(`task_unchanged:${id}`);
    expect((await task(id)).status).toBe("done");
  });

  it("issues.reopened brings a done or a cancelled task back to todo without its agent, each change recorded", async () => {
    const own = await autoAssigningOrg(rt, [{ name: "eng-r", role: "engineer" }], { auto_assign: false });
    const issue = (action: string, number: number) => issueEvent(action, { owner: own.owner, repo: "reopen", number, installationId: own.installationId });
    const doneId = (await deliverToApp(rt, "issues", issue("opened", 1))).task_id!;
    const cancelledId = (await deliverToApp(rt, "issues", issue("opened", 2))).task_id!;
    for (const id of [doneId, cancelledId]) expect((await own.api.patch(`/api/v1/tasks/${id}`, { assignee_id: own.agents["eng-r"] })).status).toBe(200);
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) await own.api.post(`/api/v1/tasks/${doneId}/status`, { status });
    expect((await deliverToApp(rt, "issues", issue("closed", 2))).action_taken).toBe(`task_cancelled:${cancelledId}`);

    for (const [id, number, from] of [[doneId, 1, "done"], [cancelledId, 2, "cancelled"]] as const) {
      const before = (await own.api.get(`/api/v1/tasks/${id}`)).body;
      expect(before).toMatchObject({ status: from, assignee_id: own.agents["eng-r"] });
      expect((await deliverToApp(rt, "issues", issue("reopened", number))).action_taken).toBe(`task_reopened:${id}`);
      const after = (await own.api.get(`/api/v1/tasks/${id}`)).body;
      expect(after).toMatchObject({ status: "todo", assignee_id: null, dispatched_at: null, acknowledged_at: null, completed_at: null });
      expect(new Date(after.updated_at).getTime()).toBeGreaterThan(new Date(before.updated_at).getTime());
      const events = (await own.api.get(`/api/v1/tasks/${id}/events`)).body.data as { type: string; from: string | null; to: string | null; actor_type: string; data: Record<string, unknown> }[];
      expect(events.slice(0, 2).map((e) => [e.type, e.from, e.to, e.actor_type, e.data])).toEqual([
        ["task.unassigned", null, null, "system", { agent_id: own.agents["eng-r"] }],
        ["task.status_changed", from, "todo", "system", { system: true }],
      ]);
    }
  });

  it("labels recompute priority and tags; an edit updates title and description", async () => {
    const id = await open(3, ["bug"]);
    expect((await org.api.patch(`/api/v1/tasks/${id}`, { tags: ["github", "issue", "bug", "kept-by-hand"] })).status).toBe(200);
    expect((await event("labeled", 3, { label: { name: "P0" } }, ["bug", "P0"])).action_taken).toBe(`task_updated:${id}`);
    expect(await task(id)).toMatchObject({ priority: "critical", tags: ["github", "issue", "bug", "kept-by-hand", "P0"] });
    await event("unlabeled", 3, { label: { name: "P0" } }, ["bug"]);
    expect(await task(id)).toMatchObject({ priority: "medium", tags: ["github", "issue", "bug", "kept-by-hand"] });
    const edited = issueEvent("edited", { owner: org.owner, repo: "sync", number: 3, title: "A better title", body: "More detail", labels: ["bug"], installationId: org.installationId }, { changes: { title: { from: "old" } } });
    await deliverToApp(rt, "issues", edited);
    expect(await task(id)).toMatchObject({ title: "[GitHub] A better title", description: `GitHub Issue #3\n\nMore detail\n\nhttps://github.com/${org.owner}/sync/issues/3` });
  });

  it("tags follow the issue's full label list: a missed delivery leaves nothing behind, tags added by hand stay", async () => {
    const id = await open(7, ["bug"]);
    // needs-design is a tag of the team's own before it is also a label.
    expect((await org.api.patch(`/api/v1/tasks/${id}`, { tags: ["github", "issue", "bug", "needs-design"] })).status).toBe(200);
    // The delivery for P0 never arrived; the next labeled event carries every label.
    await event("labeled", 7, { label: { name: "frontend" } }, ["bug", "P0", "frontend", "needs-design"]);
    expect(await task(id)).toMatchObject({ priority: "critical", tags: ["github", "issue", "bug", "needs-design", "P0", "frontend"] });
    // Nor did the ones that removed bug and P0; this one removes needs-design, which stays a tag.
    await event("unlabeled", 7, { label: { name: "needs-design" } }, ["frontend"]);
    expect(await task(id)).toMatchObject({ priority: "medium", tags: ["github", "issue", "needs-design", "frontend"] });
  });

  it("a merged pull request that says Fixes #N moves the issue's task to done through merging", async () => {
    const issueTask = await open(4);
    const named = await open(5);
    const pr = await deliverToApp(rt, "pull_request", pullRequestOpened({ owner: org.owner, repo: "sync", number: 40, installationId: org.installationId }));
    const merged = await deliverToApp(rt, "pull_request", pullRequestClosed({ owner: org.owner, repo: "sync", number: 40, merged: true, installationId: org.installationId, body: `Fixes #4\n\nEntourage-Task: ${named}` }));
    expect(merged.status).toBe("processed");
    for (const id of [issueTask, named, pr.task_id!]) {
      expect((await task(id)).status).toBe("done");
      const moves = ((await org.api.get(`/api/v1/tasks/${id}/events`)).body.data as { type: string; to: string }[]).filter((e) => e.type === "task.status_changed").map((e) => e.to).reverse();
      expect(moves).toEqual(["merging", "done"]);
    }
  });

  it("a pull request closed without merging cancels its own task only", async () => {
    const issueTask = await open(6);
    const pr = await deliverToApp(rt, "pull_request", pullRequestOpened({ owner: org.owner, repo: "sync", number: 41, installationId: org.installationId }));
    await deliverToApp(rt, "pull_request", pullRequestClosed({ owner: org.owner, repo: "sync", number: 41, merged: false, installationId: org.installationId, body: "Fixes #6" }));
    expect((await task(pr.task_id!)).status).toBe("cancelled");
    expect((await task(issueTask)).status).toBe("todo");
  });

  it("reads .github/entourage.yml, and the webhook's own config wins where both set a value", async () => {
    const other = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    await sql(rt.database.dataSource, "INSERT INTO teams (org_id, slug, name) VALUES ($1, 'frontend', 'Frontend')", [other.tenant.orgId]);
    await sql(rt.database.dataSource, "UPDATE webhooks SET team_id = NULL WHERE org_id = $1", [other.tenant.orgId]);
    rt.github.settings.set(`${other.owner}/configured`, "team: frontend\ncomment_on_create: false\nlabel_priorities:\n  sev1: critical\n");
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: other.owner, repo: "configured", number: 1, labels: ["sev1"], installationId: other.installationId }));
    expect([d.status, d.error]).toEqual(["processed", null]);
    const created = (await other.api.get(`/api/v1/tasks/${d.task_id}`)).body;
    const frontend = (await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM teams WHERE org_id = $1 AND slug = 'frontend'", [other.tenant.orgId])).rows[0]!;
    expect(created).toMatchObject({ team_id: frontend.id, priority: "critical" });
    // comment_on_create is true in the webhook config, so the repository's false loses.
    const comments = await (async () => {
      for (let i = 0; i < 100 && rt.github.commentsOn(`${other.owner}/configured`, 1).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      return rt.github.commentsOn(`${other.owner}/configured`, 1);
    })();
    expect(comments).toHaveLength(1);
  });
});

describe("settings from .github/entourage.yml", () => {
  it("close_issue closes the issue on resolution; label priorities merge label by label, the webhook's first", async () => {
    const other = await autoAssigningOrg(rt, [], { auto_assign: false, label_priorities: { sev2: "high" } });
    rt.github.settings.set(`${other.owner}/closing`, "close_issue: true\nlabel_priorities:\n  sev1: critical\n  sev2: low\n");
    const openIn = (number: number, labels: string[]) => deliverToApp(rt, "issues", issueOpened({ owner: other.owner, repo: "closing", number, labels, installationId: other.installationId }));
    const first = (await openIn(1, ["sev1"])).task_id!;
    const second = (await openIn(2, ["sev2"])).task_id!;
    expect([(await other.api.get(`/api/v1/tasks/${first}`)).body.priority, (await other.api.get(`/api/v1/tasks/${second}`)).body.priority]).toEqual(["critical", "high"]);
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) await other.api.post(`/api/v1/tasks/${first}/status`, { status });
    const closed = await waitFor(async () => rt.github.issueUpdates.find((u) => u.repository === `${other.owner}/closing`), 30_000, "issue closed");
    expect(closed).toMatchObject({ issue_number: 1, body: { state: "closed", state_reason: "completed" } });
  });

  it("auto_assign assigns when the webhook sets no value", async () => {
    const other = await autoAssigningOrg(rt, [{ name: "eng-yml", role: "engineer" }], { auto_assign: undefined });
    rt.github.settings.set(`${other.owner}/assigning`, "auto_assign: true\n");
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: other.owner, repo: "assigning", number: 1, installationId: other.installationId }));
    expect((await other.api.get(`/api/v1/tasks/${d.task_id}`)).body).toMatchObject({ assignee_id: other.agents["eng-yml"], auto_assign: true });
  });
});

describe("a rate limit while reading .github/entourage.yml", () => {
  it("is waited out through the queue until x-ratelimit-reset, without using up the delivery's tries", async () => {
    const reset = Math.ceil(Date.now() / 1000) + 2;
    // As many refusals as the job has attempts: only waits that cost no attempt let the delivery be processed.
    rt.github.fail("GET", new RegExp(`/repos/${org.owner}/limited/contents/`), 403, { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, message: "API rate limit exceeded", times: 3 });
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "limited", number: 3, installationId: org.installationId }));
    expect(d.status).toBe("processed");
    expect(Date.now()).toBeGreaterThanOrEqual(reset * 1000);
    const attempts = (await sql<{ attempts: number }>(rt.database.dataSource, "SELECT attempts FROM webhook_deliveries WHERE id = $1", [d.id])).rows[0]!.attempts;
    expect(attempts).toBe(4);
  });
});

describe("a repository settings file that does not parse", () => {
  it("is ignored: the task is still made with the webhook's settings", async () => {
    rt.github.settings.set(`${org.owner}/broken`, "team: [unclosed\n");
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "broken", number: 1, installationId: org.installationId }));
    expect([d.status, d.error]).toEqual(["processed", null]);
    expect((await task(d.task_id!)).team_id).toBe(org.tenant.teamId);
  });
});

describe("linkedReferences", () => {
  it.each([
    ["Fixes #12", [12], []],
    ["closes #3 and resolves #4, fixed #5", [3, 4, 5], []],
    ["See #9 for context", [], []],
    ["Entourage-Task: 601\nEntourage-Task: #602", [], [601, 602]],
    [null, [], []],
  ])("%j", (body, issues, tasks) => {
    expect(linkedReferences(body)).toEqual({ issues, tasks });
  });
});
