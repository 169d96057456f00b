import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg, type AutoAssigningOrg } from "../helpers/auto-assign.js";
import { issueEvent, issueOpened, pullRequestClosed, pullRequestOpened } from "../helpers/github-events.js";
import { GitHubServer } from "../helpers/github-server.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
const github = new GitHubServer();

type Method = "GET" | "POST";

async function call(key: string, method: Method, url: string, payload?: unknown) {
  const res = await rt.server.inject({ method, url, headers: { "x-api-key": key }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

interface Shop extends AutoAssigningOrg {
  keys: Record<string, string>;
}

/** An organization whose installation auto-assigns and comments, its agents each with a key. */
async function shop(agents: string[], config: Record<string, unknown> = {}): Promise<Shop> {
  const org = await autoAssigningOrg(rt, agents.map((name) => ({ name, role: "engineer" })), { comment_on_create: true, ...config });
  const keys: Record<string, string> = {};
  for (const name of agents) keys[name] = (await org.api.post(`/api/v1/agents/${org.agents[name]}/keys`)).body.key;
  return { ...org, keys };
}

async function openIssue(org: Shop, number: number, title = `Fix the parser (${number})`): Promise<number> {
  const delivery = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, repo: "app", number, title, installationId: org.installationId, labels: ["bug"] }));
  return delivery.task_id!;
}

async function task(id: number): Promise<Record<string, any>> {
  return (await sql(rt.database.dataSource, "SELECT * FROM tasks WHERE id = $1", [id])).rows[0]!;
}

async function dispatchedTo(id: number, agentId: string): Promise<void> {
  await waitFor(async () => {
    const t = await task(id);
    return t.assignee_id === agentId && t.dispatched_at !== null;
  }, 20_000, `task ${id} dispatched`);
}

async function claim(key: string, waitS = 5) {
  return call(key, "POST", "/api/v1/runner/claim", { wait_s: waitS });
}

beforeAll(async () => {
  await github.start();
  rt = await startTestRuntime({
    label: "agent_runs",
    env: { ...github.env, AGENT_MAX_RUNS: "2", SWEEP_INTERVAL_MS: "300" },
  });
});
afterAll(async () => {
  await rt?.stop();
  await github.close();
});

describe("an agent's run, from claim to pull request", () => {
  it("claims the dispatched task, pushes with a one-repository token, and opens one draft pull request that closes the issue", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 10, "Fix the parser");
    await dispatchedTo(id, org.agents["eng-1"]!);

    const claimed = await claim(key);
    expect(claimed.status).toBe(200);
    const { run, workspace, prompt } = claimed.body;
    expect(run).toEqual({ id: expect.any(String), number: 1, task_id: id, heartbeat_interval_s: 3 });
    expect(workspace).toEqual({
      repository: `${org.owner}/app`, clone_url: `https://github.com/${org.owner}/app.git`, branch: `entourage/task-${id}`,
      default_branch: "master", github_url: `http://${github.host}`,
    });
    expect(prompt).toContain(`# Entourage task #${id}: Fix the parser`);
    expect(prompt).toContain(`https://github.com/${org.owner}/app/issues/10`);
    expect(prompt).toContain("Labels: bug");
    expect(await task(id)).toMatchObject({ status: "in_progress", acknowledged_at: expect.any(Date) });
    // The App's 👀 on the issue: once, however often the agent acknowledges.
    expect((await call(key, "POST", `/api/v1/tasks/${id}/acknowledge`)).status).toBe(200);
    await waitFor(async () => github.reactions.find((r) => r.repository === `${org.owner}/app` && r.issue_number === 10), 20_000, "👀 on the issue");
    expect(github.reactions.filter((r) => r.repository === `${org.owner}/app`)).toEqual([{ repository: `${org.owner}/app`, issue_number: 10, comment_id: null, content: "eyes" }]);

    const credentials = await call(key, "POST", `/api/v1/tasks/${id}/git-credentials`);
    expect(credentials.status).toBe(200);
    expect(credentials.body).toEqual({ token: expect.stringMatching(/^ghs_/), expires_at: expect.any(String) });
    expect(github.tokens.at(-1)).toMatchObject({ installation_id: org.installationId, repositories: ["app"], permissions: { contents: "write" } });

    // Output that happens to print the token or the key is kept redacted.
    const beat = await call(key, "POST", `/api/v1/runs/${run.id}/heartbeat`, { log: `cloning with ${credentials.body.token}\nkey ${key}\nedited parser.ts\n` });
    expect(beat.body).toEqual({ cancel: false });

    const body = { branch: `entourage/task-${id}`, run_id: run.id, commits: [{ sha: "a1b2c3d4e5f6", subject: "Fix the parser's off-by-one" }] };
    const opened = await call(key, "POST", `/api/v1/tasks/${id}/pull-request`, body);
    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({ number: expect.any(Number), url: expect.stringContaining("/pull/"), branch: `entourage/task-${id}` });
    const again = await call(key, "POST", `/api/v1/tasks/${id}/pull-request`, body);
    expect(again.body).toEqual(opened.body);

    const prs = github.pullRequests.filter((pr) => pr.repository === `${org.owner}/app`);
    expect(prs).toHaveLength(1);
    expect(prs[0]).toMatchObject({ head: `entourage/task-${id}`, base: "master", title: "Fix the parser", draft: true });
    expect(prs[0]!.body).toContain("- Fix the parser's off-by-one (a1b2c3d)");
    expect(prs[0]!.body).toContain("Fixes #10");
    expect(prs[0]!.body).toMatch(new RegExp(`^Entourage-Task: ${id}$`, "m"));
    expect(await task(id)).toMatchObject({ status: "in_review", pull_request: opened.body });

    const runs = await org.api.get(`/api/v1/tasks/${id}/runs`);
    expect(runs.body.data).toEqual([expect.objectContaining({ id: run.id, outcome: "pull_request", reason: `opened pull request #${opened.body.number}`, finished_at: expect.any(String) })]);
    const detail = await org.api.get(`/api/v1/tasks/${id}/runs/${run.id}`);
    expect(detail.body.log).toBe("cloning with [redacted]\nkey [redacted]\nedited parser.ts\n");

    // The tracked comment on the issue links the pull request.
    await waitFor(async () => github.comments.find((c) => c.repository === `${org.owner}/app` && c.issue_number === 10 && c.body.includes(`**Pull request:** [#${opened.body.number}](`)), 20_000, "comment edited with the link");
    expect(github.comments.filter((c) => c.repository === `${org.owner}/app` && c.issue_number === 10)).toHaveLength(1);

    // GitHub tells of the App's own pull request: it is the task's, not a new task.
    const own = await deliverToApp(rt, "pull_request", pullRequestOpened({ owner: org.owner, repo: "app", number: opened.body.number, installationId: org.installationId, body: prs[0]!.body }));
    expect(own).toMatchObject({ status: "ignored", task_id: null });

    // Merged: the task is done and the issue gets its resolution comment.
    const merged = await deliverToApp(rt, "pull_request", pullRequestClosed({ owner: org.owner, repo: "app", number: opened.body.number, installationId: org.installationId, body: prs[0]!.body, merged: true }));
    expect(merged.action_taken).toBe(`tasks_done:${id}`);
    expect(await task(id)).toMatchObject({ status: "done" });
    await waitFor(async () => github.comments.find((c) => c.repository === `${org.owner}/app` && c.issue_number === 10 && c.body.startsWith("Resolved in task")), 20_000, "resolution comment");
  });

  it("opens a ready pull request when the repository's settings say draft_pull_requests: false", async () => {
    const org = await shop(["eng-1"]);
    const id = await openIssue(org, 11);
    await sql(rt.database.dataSource, "UPDATE tasks SET source = jsonb_set(source, '{repository_settings}', '{\"draft_pull_requests\": false}') WHERE id = $1", [id]);
    await dispatchedTo(id, org.agents["eng-1"]!);
    const { run } = (await claim(org.keys["eng-1"]!)).body;
    const opened = await call(org.keys["eng-1"]!, "POST", `/api/v1/tasks/${id}/pull-request`, { branch: `entourage/task-${id}`, run_id: run.id });
    expect(github.pullRequests.find((pr) => pr.number === opened.body.number)).toMatchObject({ draft: false });
  });
});

describe("a pull request closed without merging", () => {
  it("sends the task back to a person: todo, needs_human, without its agent or the pull request, until retried", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 12);
    await dispatchedTo(id, org.agents["eng-1"]!);
    const { run } = (await claim(key)).body;
    const pr = (await call(key, "POST", `/api/v1/tasks/${id}/pull-request`, { branch: `entourage/task-${id}`, run_id: run.id })).body;
    const body = github.pullRequests.find((p) => p.number === pr.number)!.body;
    const closed = await deliverToApp(rt, "pull_request", pullRequestClosed({ owner: org.owner, repo: "app", number: pr.number, installationId: org.installationId, body, merged: false }));
    expect(closed.action_taken).toBe(`task_pull_request_closed:${id}`);
    expect(await task(id)).toMatchObject({ status: "todo", needs_human: true, assignee_id: null, auto_assign: false, pull_request: null });
    const agent = (await sql<{ status: string }>(rt.database.dataSource, "SELECT status FROM agents WHERE id = $1", [org.agents["eng-1"]])).rows[0]!;
    expect(agent.status).toBe("idle");
    await waitFor(async () => github.comments.find((c) => c.repository === `${org.owner}/app` && c.issue_number === 12 && c.body.includes("waiting for a person (`/entourage retry`")), 20_000, "the status comment");
    expect((await org.api.post(`/api/v1/tasks/${id}/retry`)).body).toMatchObject({ needs_human: false, auto_assign: true });
    await dispatchedTo(id, org.agents["eng-1"]!);
  });
});

describe("failed runs", () => {
  it("dispatches the task again after a failure; after the last one it waits for a person, with one comment, until retried", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 20);
    await dispatchedTo(id, org.agents["eng-1"]!);

    const first = (await claim(key)).body.run;
    const failed = await call(key, "POST", `/api/v1/runs/${first.id}/finish`, { exit_code: 1, log: "tests failed\n" });
    expect(failed.body).toMatchObject({ outcome: "failed", reason: "the command exited with code 1", exit_code: 1 });
    expect(await task(id)).toMatchObject({ failed_runs: 1, needs_human: false });

    // Handed out again (the only idle agent is the same one): a second run.
    await dispatchedTo(id, org.agents["eng-1"]!);
    const second = (await claim(key)).body.run;
    expect(second.number).toBe(2);
    const noChanges = await call(key, "POST", `/api/v1/runs/${second.id}/finish`, { exit_code: 0 });
    expect(noChanges.body).toMatchObject({ outcome: "failed", reason: "no changes: the command exited 0 without a commit or a move of the task" });
    expect(await task(id)).toMatchObject({ status: "todo", assignee_id: null, failed_runs: 2, needs_human: true, auto_assign: false });

    const comment = await waitFor(async () => github.comments.find((c) => c.repository === `${org.owner}/app` && c.issue_number === 20 && c.body.includes("runs failed.")), 20_000, "needs_human comment");
    expect(comment.body).toContain(`POST /api/v1/tasks/${id}/retry`);
    expect(comment.body).toContain("2 runs failed. The last one: no changes");
    expect((await claim(key, 0)).body).toEqual({ run: null });

    // An agent cannot retry; an admin can, and the task is handed out again with a new budget.
    expect((await call(key, "POST", `/api/v1/tasks/${id}/retry`)).status).toBe(403);
    const retried = await org.api.post(`/api/v1/tasks/${id}/retry`);
    expect(retried.body).toMatchObject({ needs_human: false, failed_runs: 0, auto_assign: true });
    await dispatchedTo(id, org.agents["eng-1"]!);
    expect((await claim(key)).body.run.number).toBe(3);
    expect(github.comments.filter((c) => c.repository === `${org.owner}/app` && c.issue_number === 20 && c.body.includes("runs failed."))).toHaveLength(1);
  });

  it("counts a run whose agent moved the task itself as moved, not failed", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 21);
    await dispatchedTo(id, org.agents["eng-1"]!);
    const { run } = (await claim(key)).body;
    expect((await call(key, "POST", `/api/v1/tasks/${id}/status`, { status: "in_review" })).status).toBe(200);
    const finished = await call(key, "POST", `/api/v1/runs/${run.id}/finish`, { exit_code: 0 });
    expect(finished.body).toMatchObject({ outcome: "moved", reason: "the agent moved the task to in_review" });
    expect(await task(id)).toMatchObject({ status: "in_review", failed_runs: 0 });
  });

  it("declares a run lost when its runner sends no heartbeat, pauses the agent, and gives the task to another", async () => {
    const org = await shop(["eng-1", "eng-2"]);
    const id = await openIssue(org, 22);
    const first = await waitFor(async () => {
      const t = await task(id);
      return t.dispatched_at ? (Object.entries(org.agents).find(([, agentId]) => agentId === t.assignee_id)?.[0]) : undefined;
    }, 20_000, "dispatched");
    const other = first === "eng-1" ? "eng-2" : "eng-1";
    const { run } = (await claim(org.keys[first]!)).body;
    // The runner went silent longer ago than AGENT_HEARTBEAT_TIMEOUT_S (60 s).
    await sql(rt.database.dataSource, "UPDATE task_runs SET heartbeat_at = now() - interval '61 seconds' WHERE id = $1", [run.id]);

    const lost = await waitFor(async () => {
      const row = (await sql<{ outcome: string; reason: string }>(rt.database.dataSource, "SELECT outcome, reason FROM task_runs WHERE id = $1", [run.id])).rows[0]!;
      return row.outcome === "lost" ? row : undefined;
    }, 20_000, "run lost");
    expect(lost.reason).toBe("no heartbeat from the agent's runner for 60 s");
    const agent = (await sql<{ status: string }>(rt.database.dataSource, "SELECT status FROM agents WHERE id = $1", [org.agents[first]])).rows[0]!;
    expect(agent.status).toBe("paused");
    await dispatchedTo(id, org.agents[other]!);
    // The silent runner comes back: its heartbeat is refused, so it stops the command.
    const late = await call(org.keys[first]!, "POST", `/api/v1/runs/${run.id}/heartbeat`, {});
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("run_finished");
  });

  it("a runner that claims again after a crash loses its earlier run and starts the next", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 23);
    await dispatchedTo(id, org.agents["eng-1"]!);
    const first = (await claim(key)).body.run;
    const second = (await claim(key)).body.run;
    expect(second.number).toBe(2);
    const runs = (await org.api.get(`/api/v1/tasks/${id}/runs`)).body.data;
    expect(runs.map((r: { number: number; outcome: string }) => [r.number, r.outcome])).toEqual([[2, "running"], [1, "lost"]]);
    expect(runs[1].id).toBe(first.id);
  });

  it("tells the runner to stop when the issue is closed, and ends the run cancelled without another dispatch", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 24);
    await dispatchedTo(id, org.agents["eng-1"]!);
    const { run } = (await claim(key)).body;
    await deliverToApp(rt, "issues", issueEvent("closed", { owner: org.owner, repo: "app", number: 24, installationId: org.installationId }));
    expect((await call(key, "POST", `/api/v1/runs/${run.id}/heartbeat`, { log: "" })).body).toEqual({ cancel: true, reason: "the task was cancelled" });
    const finished = await call(key, "POST", `/api/v1/runs/${run.id}/finish`, { exit_code: null, cancelled: true });
    expect(finished.body).toMatchObject({ outcome: "cancelled", reason: "the task was cancelled" });
    expect(await task(id)).toMatchObject({ status: "cancelled", failed_runs: 0 });
  });
});

describe("several calls at once", () => {
  it("counts one failure for a run finished twice at once, and opens one pull request for two requests at once", async () => {
    const org = await shop(["eng-1"]);
    const key = org.keys["eng-1"]!;
    const id = await openIssue(org, 30);
    await dispatchedTo(id, org.agents["eng-1"]!);
    const first = (await claim(key)).body.run;
    const finishes = await Promise.all([1, 2, 3].map(() => call(key, "POST", `/api/v1/runs/${first.id}/finish`, { exit_code: 2 })));
    expect(finishes.map((f) => f.status)).toEqual([200, 200, 200]);
    expect(await task(id)).toMatchObject({ failed_runs: 1 });

    await dispatchedTo(id, org.agents["eng-1"]!);
    const second = (await claim(key)).body.run;
    const body = { branch: `entourage/task-${id}`, run_id: second.id };
    const opened = await Promise.all([1, 2, 3].map(() => call(key, "POST", `/api/v1/tasks/${id}/pull-request`, body)));
    expect(new Set(opened.map((o) => o.body.number)).size).toBe(1);
    expect(github.pullRequests.filter((pr) => pr.repository === `${org.owner}/app`)).toHaveLength(1);
    const events = (await sql(rt.database.dataSource, "SELECT count(*)::int AS n FROM task_events WHERE task_id = $1 AND type = 'task.pull_request_opened'", [id])).rows[0]!;
    expect(events.n).toBe(1);
  });
});

describe("who reaches a run", () => {
  it("keeps credentials and runs to the task's own agent, and the runner's routes to agent keys", async () => {
    const org = await shop(["eng-1", "eng-2"]);
    const id = await openIssue(org, 40);
    const assignee = await waitFor(async () => {
      const t = await task(id);
      return t.dispatched_at ? Object.entries(org.agents).find(([, agentId]) => agentId === t.assignee_id)?.[0] : undefined;
    }, 20_000, "dispatched");
    const other = assignee === "eng-1" ? "eng-2" : "eng-1";
    const { run } = (await claim(org.keys[assignee]!)).body;

    const stranger = await call(org.keys[other]!, "POST", `/api/v1/tasks/${id}/git-credentials`);
    expect(stranger).toMatchObject({ status: 409, body: { error: { code: "not_assignee" } } });
    expect((await call(org.keys[other]!, "GET", `/api/v1/tasks/${id}/runs`)).status).toBe(404);
    expect((await call(org.keys[other]!, "POST", `/api/v1/runs/${run.id}/heartbeat`, {})).status).toBe(404);
    expect((await call(org.keys[other]!, "POST", `/api/v1/runs/${run.id}/finish`, { exit_code: 0 })).status).toBe(404);
    expect((await call(org.keys[assignee]!, "GET", `/api/v1/tasks/${id}/runs`)).body.data).toHaveLength(1);
    expect((await org.api.post("/api/v1/runner/claim", { wait_s: 0 })).status).toBe(403);

    const rival = await shop(["eng-1"]);
    expect((await rival.api.get(`/api/v1/tasks/${id}/runs`)).status).toBe(404);
    expect((await rival.api.get(`/api/v1/tasks/${id}/runs/${run.id}`)).status).toBe(404);
    expect((await call(rival.keys["eng-1"]!, "POST", `/api/v1/runs/${run.id}/heartbeat`, {})).status).toBe(404);
  });
});
