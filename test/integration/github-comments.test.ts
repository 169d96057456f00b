import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { scheduleJob } from "../../src/domain/outbox.js";
import { rateLimitDelayMs } from "../../src/github/rate-limit.js";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg } from "../helpers/auto-assign.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "github_comments", env: { JOB_BACKOFF_MS: "50", JOB_ATTEMPTS: "4" } });
});
afterAll(async () => {
  await rt?.stop();
});

/** GitHub's words for a secondary rate limit, which Octokit's throttling plugin looks for. */
const SECONDARY_RATE_LIMIT = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

interface CommentRow { status: string; comment_id: string | null; error: string | null; attempts: number }

async function commentRow(taskId: number, kind: string): Promise<CommentRow | undefined> {
  return (await sql<CommentRow>(rt.database.dataSource, "SELECT status, comment_id, error, attempts FROM github_comments WHERE task_id = $1 AND kind = $2", [taskId, kind])).rows[0];
}

async function settledComment(taskId: number, kind = "tracked"): Promise<CommentRow> {
  return waitFor(async () => {
    const row = await commentRow(taskId, kind);
    return row && ["posted", "skipped", "failed"].includes(row.status) ? row : undefined;
  }, 30_000, `comment ${kind} of task ${taskId}`);
}

/** Asks for the comment again, as a retry or a later change would. */
async function requestComment(taskId: number, kind: "tracked" | "resolved" = "tracked") {
  await scheduleJob(rt.database.dataSource, "github-comment", { taskId, kind });
  await rt.relay.flush();
}

describe("comments on GitHub", () => {
  it("posts one tracked comment and edits it when asked again, never a second one", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 5, labels: ["P0"], installationId: org.installationId }));
    await settledComment(d.task_id!);
    expect(rt.github.commentsOn(`${org.owner}/app`, 5).map((c) => c.body.split("\n")[0])).toEqual([`Tracked as Entourage task #${d.task_id} · priority critical · waiting for an agent`]);

    // An agent joins and takes the task: the same comment is edited in place.
    await org.api.post(`/api/v1/teams/${org.tenant.teamId}/agents`, { name: "eng-1", role: "engineer" });
    await sql(rt.database.dataSource, "UPDATE tasks SET assignee_id = (SELECT id FROM agents WHERE name = 'eng-1' AND team_id = $1) WHERE id = $2", [org.tenant.teamId, d.task_id]);
    await requestComment(d.task_id!);
    await waitFor(async () => rt.github.commentsOn(`${org.owner}/app`, 5)[0]!.body.includes("assigned to eng-1"), 30_000, "edit");
    await requestComment(d.task_id!);
    await requestComment(d.task_id!);
    await new Promise((r) => setTimeout(r, 300));
    const comments = rt.github.commentsOn(`${org.owner}/app`, 5);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.edits).toBe(1);
  });

  it("retries a GitHub 5xx with backoff, then posts once", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    rt.github.fail("POST", new RegExp(`/repos/${org.owner}/app/issues/6/comments`), 502, { times: 2 });
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 6, installationId: org.installationId }));
    const row = await settledComment(d.task_id!);
    expect(row.status).toBe("posted");
    expect(row.attempts).toBe(3);
    expect(rt.github.commentsOn(`${org.owner}/app`, 6)).toHaveLength(1);
  });

  it("after a try that posted but could not record, finds its comment by marker instead of posting again", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 8, installationId: org.installationId }));
    await settledComment(d.task_id!);
    // As if the worker died between GitHub's answer and the UPDATE that stores the comment id.
    await sql(rt.database.dataSource, "UPDATE github_comments SET status = 'posting', comment_id = NULL, body = NULL WHERE task_id = $1", [d.task_id]);
    await requestComment(d.task_id!);
    const row = await settledComment(d.task_id!);
    expect(row.status).toBe("posted");
    expect(rt.github.commentsOn(`${org.owner}/app`, 8)).toHaveLength(1);
    expect(Number(row.comment_id)).toBe(rt.github.commentsOn(`${org.owner}/app`, 8)[0]!.id);
  });

  it("records a deleted issue (404) as failed without crashing the worker", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    rt.github.fail("POST", new RegExp(`/repos/${org.owner}/app/issues/9/comments`), 404);
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 9, installationId: org.installationId }));
    const row = await settledComment(d.task_id!);
    expect(row.status).toBe("failed");
    expect(row.error).toContain("404");
    // The worker still works.
    const next = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 10, installationId: org.installationId }));
    expect((await settledComment(next.task_id!)).status).toBe("posted");
  });

  it.each([[403, 11], [429, 16]])("waits out a %i secondary rate limit (Retry-After) through the queue, Octokit not retrying it, without using up its tries", async (status, issue) => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    // As many refusals as the job has attempts: only waits that cost no attempt let the fifth try post.
    rt.github.fail("POST", new RegExp(`/repos/${org.owner}/app/issues/${issue}/comments`), status, { headers: { "retry-after": "1" }, message: SECONDARY_RATE_LIMIT, times: 4 });
    const started = Date.now();
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: issue, installationId: org.installationId }));
    const row = await waitFor(async () => {
      const r = await commentRow(d.task_id!, "tracked");
      return r && r.status !== "pending" && r.status !== "posting" ? r : undefined;
    }, 20_000, "the comment after the rate limit");
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    // One job run per request: the waits were the queue's, none inside Octokit.
    expect(row).toMatchObject({ status: "posted", attempts: 5 });
    expect(rt.github.requests.filter((r) => r.startsWith(`POST /repos/${org.owner}/app/issues/${issue}/comments`))).toHaveLength(5);
    expect(rt.github.commentsOn(`${org.owner}/app`, issue)).toHaveLength(1);
  }, 30_000);

  it("waits until x-ratelimit-reset when no requests are left, without using up its tries", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: true });
    const reset = Math.ceil(Date.now() / 1000) + 2;
    // As many refusals as the job has attempts: only waits that cost no attempt let the fifth try post.
    rt.github.fail("POST", new RegExp(`/repos/${org.owner}/app/issues/13/comments`), 403, { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, times: 4 });
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 13, installationId: org.installationId }));
    const row = await waitFor(async () => {
      const r = await commentRow(d.task_id!, "tracked");
      return r && r.status !== "pending" && r.status !== "posting" ? r : undefined;
    }, 30_000, "the comment after the rate limit");
    expect(Date.now()).toBeGreaterThanOrEqual(reset * 1000);
    expect(row).toMatchObject({ status: "posted", attempts: 5 });
    expect(rt.github.commentsOn(`${org.owner}/app`, 13)).toHaveLength(1);
  }, 30_000);

  it("posts no tracked comment when comment_on_create is false, and still the resolution comment", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: false });
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "quiet", number: 14, installationId: org.installationId }));
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) {
      expect((await org.api.post(`/api/v1/tasks/${d.task_id}/status`, { status })).status).toBe(200);
    }
    // The resolution comment is queued after the tracked one would have been: once it is on GitHub, the other had its turn.
    expect((await settledComment(d.task_id!, "resolved")).status).toBe("posted");
    expect(rt.github.commentsOn(`${org.owner}/quiet`, 14).map((c) => c.body.split("\n")[0])).toEqual([`Resolved in task #${d.task_id}`]);
    expect(rt.github.requests.filter((r) => r.startsWith(`POST /repos/${org.owner}/quiet/issues/14/comments`))).toHaveLength(1);
    expect((await commentRow(d.task_id!, "tracked"))?.status ?? "none").toMatch(/^(none|skipped)$/);
  });

  it("the resolution comment names the sub-tasks that were done, not one cancelled and archived since", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false, comment_on_create: false });
    const parent = (await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number: 15, installationId: org.installationId }))).task_id!;
    const [dropped, kept] = (await org.api.post(`/api/v1/tasks/${parent}/subtasks`, { tasks: [{ title: "dropped" }, { title: "kept" }] })).body.data as { id: number }[];
    for (const status of ["cancelled", "archived"]) expect((await org.api.post(`/api/v1/tasks/${dropped!.id}/status`, { status })).status).toBe(200);
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) expect((await org.api.post(`/api/v1/tasks/${kept!.id}/status`, { status })).status).toBe(200);
    expect((await settledComment(parent, "resolved")).status).toBe("posted");
    expect(rt.github.commentsOn(`${org.owner}/app`, 15).map((c) => c.body.split("\n")[0])).toEqual([`Resolved in task #${kept!.id}`]);
  });

  it("skips repository webhooks that have no installation", async () => {
    const org = await autoAssigningOrg(rt, [], { auto_assign: false });
    const hook = (await org.api.post("/api/v1/webhooks", { team_id: org.tenant.teamId, name: "repo hook", events: ["issues"] })).body;
    const signed = signedDelivery(hook.secret, "issues", issueOpened({ owner: org.owner, repo: "plain", number: 12, installationId: null }));
    const res = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers: signed.headers, payload: signed.payload });
    const taskId = await waitFor(async () => (await sql<{ task_id: number }>(rt.database.dataSource, "SELECT task_id FROM webhook_deliveries WHERE id = $1 AND status = 'processed'", [res.json().delivery_id])).rows[0]?.task_id);
    const row = await settledComment(taskId);
    expect(row).toMatchObject({ status: "skipped", error: `no GitHub App installation covers ${org.owner}/plain` });
  });
});

describe("rateLimitDelayMs", () => {
  it.each([
    [{ status: 403, response: { headers: { "retry-after": "30" } } }, 30_000],
    [{ status: 429, response: { headers: {} } }, 60_000],
    [{ status: 403, response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1100" } } }, 100_000],
    [{ status: 403, response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "900" } } }, 1_000],
    [{ status: 403, response: { headers: { "x-ratelimit-remaining": "0" } } }, 60_000],
    [{ status: 403, message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", response: { headers: { "x-ratelimit-remaining": "4990" } } }, 60_000],
    [{ status: 403, message: "Resource not accessible by integration", response: { headers: { "x-ratelimit-remaining": "4990" } } }, undefined],
    [{ status: 403, response: { headers: {} } }, undefined],
    [{ status: 500, response: { headers: { "retry-after": "5" } } }, undefined],
  ])("%j → %s", (error, expected) => {
    expect(rateLimitDelayMs(error, 1_000_000)).toBe(expected);
  });
});
