import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg, type AutoAssigningOrg } from "../helpers/auto-assign.js";
import { issueCommentCreated, issueOpened, pullRequestClosed, reviewSubmitted, signedDelivery } from "../helpers/github-events.js";
import { GitHubServer } from "../helpers/github-server.js";
import { deliverToApp, settled, type SettledDelivery } from "../helpers/http.js";
import { AgentClient, listenOnLoopback } from "../helpers/mcp-client.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let mcpUrl: string;
const github = new GitHubServer();
const MAINTAINER = "maya";
const READER = "rex";

interface Crew extends AutoAssigningOrg {
  key: string;
  agentId: string;
  repository: string;
}

async function call(key: string, method: "GET" | "POST", url: string, payload?: unknown) {
  const res = await rt.server.inject({ method, url, headers: { "x-api-key": key }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

async function crew(): Promise<Crew> {
  const org = await autoAssigningOrg(rt, [{ name: "coder", role: "engineer" }], { comment_on_create: true });
  const agentId = org.agents.coder!;
  const key = (await org.api.post(`/api/v1/agents/${agentId}/keys`)).body.key as string;
  return { ...org, key, agentId, repository: `${org.owner}/app` };
}

/** Waits until every job the changes so far asked for (comments, reactions, assignments) has run. */
async function settle(): Promise<void> {
  await waitFor(async () => {
    const left = await sql<{ n: number }>(
      rt.database.dataSource,
      "SELECT count(*)::int AS n FROM job_outbox WHERE finished_at IS NULL AND job_name IN ('github-comment', 'github-reaction', 'assign', 'dispatch')",
    );
    return left.rows[0]!.n === 0;
  }, 20_000, "the jobs to finish");
}

async function task(id: number): Promise<Record<string, any>> {
  return (await sql(rt.database.dataSource, "SELECT * FROM tasks WHERE id = $1", [id])).rows[0]!;
}

function comments(c: Crew, number: number) {
  return github.comments.filter((comment) => comment.repository === c.repository && comment.issue_number === number);
}

function statusOf(c: Crew, number: number): string {
  const status = comments(c, number).find((comment) => comment.body.startsWith("Tracked as"));
  return status?.body.split("\n")[2] ?? "";
}

let nextCommentId = 500_000;

async function comment(c: Crew, number: number, login: string, body: string, extra: { userType?: "User" | "Bot"; onPullRequest?: boolean } = {}): Promise<SettledDelivery & { commentId: number; payload: Record<string, any> }> {
  const commentId = nextCommentId++;
  const payload = issueCommentCreated({ owner: c.owner, repo: "app", number, installationId: c.installationId, commentId, body, login, ...extra });
  return { ...(await deliverToApp(rt, "issue_comment", payload)), commentId, payload };
}

beforeAll(async () => {
  await github.start();
  github.permissions.set(MAINTAINER, "maintain");
  github.permissions.set(READER, "read");
  rt = await startTestRuntime({ label: "conversation", env: { ...github.env, SWEEP_INTERVAL_MS: "300" } });
  mcpUrl = await listenOnLoopback(rt);
});
afterAll(async () => {
  await rt?.stop();
  await github.close();
});

describe("a maintainer and an agent on one issue", () => {
  it("talks through one status comment, a question, commands and a review, and GitHub sees exactly these calls", async () => {
    const c = await crew();
    const agent = await AgentClient.connect(mcpUrl, c.key);
    const repoCalls = () => github.calls.filter((line) => line.includes(`/repos/${c.repository}/`) && !line.includes("/contents/") && !line.includes("/permission"));

    // 1. The issue becomes a task, given to the idle agent: one status comment.
    const id = (await deliverToApp(rt, "issues", issueOpened({ owner: c.owner, repo: "app", number: 50, title: "Dates are parsed wrong", installationId: c.installationId }))).task_id!;
    await settle();
    expect(statusOf(c, 50)).toBe("**Status:** assigned, about to start");

    // 2. The runner claims it: 👀 on the issue, the status says the agent is at work.
    const first = (await call(c.key, "POST", "/api/v1/runner/claim", { wait_s: 5 })).body.run;
    await settle();
    expect(statusOf(c, 50)).toBe("**Status:** agent at work");
    expect(github.reactions.filter((r) => r.repository === c.repository)).toEqual([{ repository: c.repository, issue_number: 50, comment_id: null, content: "eyes" }]);

    // 3. The agent asks; its run ends without a failure, and no run starts until the answer.
    const asked = await agent.call("ask_human", { task_id: id, question: "Which date format: ISO 8601 or US?" });
    expect(asked.isError).toBe(false);
    expect((await call(c.key, "POST", `/api/v1/runs/${first.id}/finish`, { exit_code: 0 })).body).toMatchObject({ outcome: "moved", reason: "the agent asked a person: its next run starts with the answer" });
    await settle();
    expect(comments(c, 50).find((x) => x.body.includes("asks:"))!.body).toContain("> Which date format: ISO 8601 or US?");
    expect(statusOf(c, 50)).toBe("**Status:** waiting for your answer to the agent's question");
    expect((await call(c.key, "POST", "/api/v1/runner/claim", { wait_s: 0 })).body).toEqual({ run: null });

    // 4. A reader's comment is no answer; the maintainer's is: a message for the agent, and the next run knows it.
    expect((await comment(c, 50, READER, "US, obviously")).status).toBe("ignored");
    const answer = await comment(c, 50, MAINTAINER, "ISO 8601, please.");
    expect(answer.action_taken).toBe(`question_answered:${id}`);
    const inbox = await agent.call("get_inbox");
    expect(inbox.data.messages).toEqual([expect.objectContaining({ sender_type: "person", sender: MAINTAINER, body: "Answer to your question \"Which date format: ISO 8601 or US?\":\n\nISO 8601, please." })]);
    const second = (await call(c.key, "POST", "/api/v1/runner/claim", { wait_s: 5 })).body;
    expect(second.run.number).toBe(2);
    expect(second.prompt).toContain("- You asked: Which date format: ISO 8601 or US?\n- @maya answered: ISO 8601, please.");

    // 5. The pull request.
    const pr = (await call(c.key, "POST", `/api/v1/tasks/${id}/pull-request`, { branch: `entourage/task-${id}`, run_id: second.run.id })).body;
    await settle();
    expect(statusOf(c, 50)).toBe(`**Status:** pull request #${pr.number} opened, in review`);

    // 6. Commands: a maintainer's is done (👍) and recorded as theirs; a reader's changes nothing and gets one reply; a bot's is not read.
    const priority = await comment(c, 50, MAINTAINER, "/entourage priority high");
    expect(priority.action_taken).toBe(`command_priority:${id}`);
    const refused = await comment(c, 50, READER, "/entourage cancel");
    expect(refused.action_taken).toBe(`command_refused:${id}`);
    const bot = await comment(c, 50, "entourage[bot]", "/entourage cancel", { userType: "Bot" });
    expect(bot.status).toBe("ignored");
    await settle();
    expect(await task(id)).toMatchObject({ priority: "high", status: "in_review" });
    const event = (await sql(rt.database.dataSource, "SELECT actor_type, actor_id, data FROM task_events WHERE task_id = $1 AND type = 'task.updated' ORDER BY created_at DESC LIMIT 1", [id])).rows[0]!;
    expect(event).toMatchObject({ actor_type: "user", actor_id: `github:${MAINTAINER}`, data: { comment_id: priority.commentId, changes: { priority: { from: "medium", to: "high" } } } });
    expect(github.reactions.filter((r) => r.comment_id !== null && r.repository === c.repository)).toEqual([{ repository: c.repository, issue_number: null, comment_id: priority.commentId, content: "+1" }]);
    const reply = comments(c, 50).find((x) => x.body.startsWith(`@${READER}`))!;
    expect(reply.body.split("\n")[0]).toBe(`@${READER} Entourage takes commands from people with write access to ${c.repository}; yours is read. Nothing was changed.`);

    // 7. The same comment again: GitHub's redelivery (same delivery id) is stored once; another delivery of it acts not.
    const again = signedDelivery(APP_WEBHOOK_SECRET, "issue_comment", priority.payload, randomUUID());
    const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: again.headers, payload: again.payload });
    expect((await settled(rt, res.json().delivery_id)).action_taken).toBe(`ignored: comment ${priority.commentId} was handled already`);
    const refusedAgain = signedDelivery(APP_WEBHOOK_SECRET, "issue_comment", refused.payload, randomUUID());
    const res2 = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: refusedAgain.headers, payload: refusedAgain.payload });
    expect((await settled(rt, res2.json().delivery_id)).status).toBe("ignored");

    // 8. Changes requested: back to the agent with the review in its inbox and its next run's prompt; the same pull request.
    github.reviewComments.set(9001, [{ path: "src/dates.ts", line: 12, body: "Keep the time zone." }]);
    const review = await deliverToApp(rt, "pull_request_review", reviewSubmitted({ owner: c.owner, repo: "app", number: pr.number, installationId: c.installationId, reviewId: 9001, state: "changes_requested", body: "Almost: see the line comment.", login: MAINTAINER }));
    expect(review.action_taken).toBe(`changes_requested:${id}`);
    expect(await task(id)).toMatchObject({ status: "in_progress" });
    const feedback = await agent.call("get_inbox");
    expect(feedback.data.messages[0]).toMatchObject({ sender_type: "review", sender: MAINTAINER, body: `Changes requested on pull request #${pr.number}:\nAlmost: see the line comment.\n- src/dates.ts:12: Keep the time zone.` });
    const third = (await call(c.key, "POST", "/api/v1/runner/claim", { wait_s: 5 })).body;
    expect(third.run.number).toBe(3);
    expect(third.prompt).toContain("- src/dates.ts:12: Keep the time zone.");
    const samePr = (await call(c.key, "POST", `/api/v1/tasks/${id}/pull-request`, { branch: `entourage/task-${id}`, run_id: third.run.id })).body;
    expect(samePr.number).toBe(pr.number);
    expect(github.pullRequests.filter((p) => p.repository === c.repository)).toHaveLength(1);
    const sameReview = await deliverToApp(rt, "pull_request_review", reviewSubmitted({ owner: c.owner, repo: "app", number: pr.number, installationId: c.installationId, reviewId: 9001, state: "changes_requested", body: "Almost: see the line comment.", login: MAINTAINER }));
    expect(sameReview.status).toBe("ignored");
    expect(await task(id)).toMatchObject({ status: "in_review" });

    // 9. Approved and merged: resolved.
    expect((await deliverToApp(rt, "pull_request_review", reviewSubmitted({ owner: c.owner, repo: "app", number: pr.number, installationId: c.installationId, reviewId: 9002, state: "approved", body: "", login: MAINTAINER }))).action_taken).toBe(`review_approved:${id}`);
    const prBody = github.pullRequests.find((p) => p.number === pr.number)!.body;
    await deliverToApp(rt, "pull_request", pullRequestClosed({ owner: c.owner, repo: "app", number: pr.number, installationId: c.installationId, body: prBody, merged: true }));
    await settle();
    expect(statusOf(c, 50)).toBe("**Status:** resolved");
    await agent.close();

    // What the maintainer sees: four comments (status, question, reply, resolution), each posted once; the status edited in place.
    const seen = comments(c, 50);
    expect(seen.map((x) => x.body.split("\n")[0])).toEqual([
      `Tracked as Entourage task #${id} · priority high · assigned to coder`,
      `**coder** (Entourage task #${id}) asks:`,
      `@${READER} Entourage takes commands from people with write access to ${c.repository}; yours is read. Nothing was changed.`,
      `Resolved in task #${id}`,
    ]);
    const calls = repoCalls();
    const count = (pattern: RegExp) => calls.filter((line) => pattern.test(line)).length;
    expect(count(/^POST \/repos\/[^/]+\/app\/issues\/50\/comments$/)).toBe(4);
    expect(count(/^PATCH \/repos\/[^/]+\/app\/issues\/comments\/\d+$/)).toBe(seen[0]!.edits);
    expect(seen.slice(1).map((x) => x.edits)).toEqual([0, 0, 0]);
    expect(count(/\/reactions$/)).toBe(2);
    expect(count(/^POST \/repos\/[^/]+\/app\/pulls$/)).toBe(1);
    expect(calls.filter((line) => !/\/issues\/50\/comments$|\/issues\/comments\/\d+$|\/reactions$|\/pulls$|\/reviews\/\d+\/comments$/.test(line))).toEqual([]);
    if (process.env.CONVERSATION_TRANSCRIPT) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(process.env.CONVERSATION_TRANSCRIPT, [
        ...seen.map((x) => `--- comment ${x.id} (edited ${x.edits} times)\n${x.body}`),
        ...github.reactions.filter((r) => r.repository === c.repository).map((r) => `--- reaction ${r.content} on ${r.comment_id ? `comment ${r.comment_id}` : `issue #${r.issue_number}`}`),
        "--- calls", ...calls,
      ].join("\n") + "\n");
    }
  });

  it("a command delivered three times at once (three delivery ids) acts once: one event, one 👍; a refused one gets one reply", async () => {
    const c = await crew();
    const id = (await deliverToApp(rt, "issues", issueOpened({ owner: c.owner, repo: "app", number: 60, installationId: c.installationId }))).task_id!;
    await settle();
    const deliverAtOnce = async (login: string, body: string) => {
      const commentId = nextCommentId++;
      const payload = issueCommentCreated({ owner: c.owner, repo: "app", number: 60, installationId: c.installationId, commentId, body, login });
      const answers = await Promise.all([1, 2, 3].map(async () => {
        const signed = signedDelivery(APP_WEBHOOK_SECRET, "issue_comment", payload, randomUUID());
        const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
        return settled(rt, res.json().delivery_id);
      }));
      return { commentId, actions: answers.map((a) => a.action_taken ?? "").sort() };
    };
    const done = await deliverAtOnce(MAINTAINER, "/entourage priority critical");
    expect(done.actions.filter((a) => a === `command_priority:${id}`)).toHaveLength(1);
    const refused = await deliverAtOnce(READER, "/entourage priority low");
    expect(refused.actions.filter((a) => a === `command_refused:${id}`)).toHaveLength(1);
    await settle();
    const updates = await sql(rt.database.dataSource, "SELECT 1 FROM task_events WHERE task_id = $1 AND type = 'task.updated' AND data->>'comment_id' = $2", [id, String(done.commentId)]);
    expect(updates.rows).toHaveLength(1);
    expect(await task(id)).toMatchObject({ priority: "critical" });
    expect(github.reactions.filter((r) => r.comment_id === done.commentId)).toHaveLength(1);
    expect(comments(c, 60).filter((x) => x.body.startsWith(`@${READER}`))).toHaveLength(1);
    expect(github.calls.filter((line) => line === `POST /repos/${c.repository}/issues/comments/${done.commentId}/reactions`)).toHaveLength(1);
  });

  it("/entourage assign gives the task to a named agent of its team, refuses an unknown name with the team's agents, and /entourage cancel cancels", async () => {
    const c = await crew();
    const other = (await c.api.post(`/api/v1/teams/${c.tenant.teamId}/agents`, { name: "reviewer", role: "reviewer" })).body.id as string;
    const id = (await deliverToApp(rt, "issues", issueOpened({ owner: c.owner, repo: "app", number: 70, installationId: c.installationId }))).task_id!;
    await settle();
    expect((await comment(c, 70, MAINTAINER, "/entourage assign reviewer")).action_taken).toBe(`command_assign:${id}`);
    expect(await task(id)).toMatchObject({ assignee_id: other, auto_assign: false });
    const event = (await sql(rt.database.dataSource, "SELECT actor_id FROM task_events WHERE task_id = $1 AND type = 'task.assigned' ORDER BY created_at DESC LIMIT 1", [id])).rows[0]!;
    expect(event.actor_id).toBe(`github:${MAINTAINER}`);
    expect((await comment(c, 70, MAINTAINER, "/entourage assign nobody")).action_taken).toBe(`command_refused:${id}`);
    expect((await comment(c, 70, MAINTAINER, "/entourage cancel")).action_taken).toBe(`command_cancel:${id}`);
    await settle();
    expect(await task(id)).toMatchObject({ status: "cancelled", assignee_id: other });
    const reply = comments(c, 70).find((x) => x.body.startsWith(`@${MAINTAINER}`))!;
    expect(reply.body.split("\n")[0]).toBe(`@${MAINTAINER} "nobody" is not an agent of this team; its agents: coder, reviewer.`);
    expect(statusOf(c, 70)).toBe("**Status:** cancelled");
  });
});
