import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sql } from "../../src/db/sql.js";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg, type AutoAssigningOrg } from "../helpers/auto-assign.js";
import { issueEvent, issueOpened, pullRequestClosed, reviewSubmitted } from "../helpers/github-events.js";
import { bareRepository, gitSandbox } from "../helpers/git-remote.js";
import { GitHubServer } from "../helpers/github-server.js";
import { deliverToApp } from "../helpers/http.js";
import { listenOnLoopback } from "../helpers/mcp-client.js";
import { ChildProcesses, tail, type Spawned } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const AGENT_CLI = path.resolve("dist/cli/agent.js");
const SCRIPTED_AGENT = path.resolve("test/helpers/scripted-agent.mjs");

let rt: TestRuntime;
let appUrl: string;
let root: string;
let gitEnv: NodeJS.ProcessEnv;
let children: ChildProcesses;
const github = new GitHubServer();

interface Crew extends AutoAssigningOrg {
  key: string;
  agentId: string;
  remote: string;
}

/** An organization with one agent and its key, and a repository of its own. */
async function crew(name: string, config: Record<string, unknown> = {}): Promise<Crew> {
  const org = await autoAssigningOrg(rt, [{ name: "coder", role: "engineer" }], { comment_on_create: true, ...config });
  const agentId = org.agents.coder!;
  const key = (await org.api.post(`/api/v1/agents/${agentId}/keys`)).body.key as string;
  return { ...org, key, agentId, remote: await bareRepository(root, gitEnv, name, "# app\n") };
}

async function openIssue(c: Crew, number: number, title: string): Promise<number> {
  const payload = issueOpened({ owner: c.owner, repo: "app", number, title, installationId: c.installationId, cloneUrl: `file://${c.remote}` });
  payload.repository.default_branch = "main";
  return (await deliverToApp(rt, "issues", payload)).task_id!;
}

function startRunner(c: Crew, name: string, env: Record<string, string>, flags: string[] = []): Spawned {
  const workdir = path.join(root, `work-${name}`);
  mkdirSync(workdir, { recursive: true });
  return children.spawn(name, [AGENT_CLI, "--url", appUrl, "--key", c.key, "--command", `node ${SCRIPTED_AGENT}`, "--workdir", workdir, ...flags], {
    env: { HOME: root, AGENT_ALLOW_FILE_REMOTES: "true", ...env },
    cwd: root,
  });
}

interface RunRow { id: string; number: number; outcome: string; reason: string | null; exit_code: number | null; log: string; finished_at: Date | null }

async function runs(taskId: number): Promise<RunRow[]> {
  return (await sql<RunRow>(rt.database.dataSource, "SELECT * FROM task_runs WHERE task_id = $1 ORDER BY number", [taskId])).rows;
}

async function taskRow(id: number): Promise<Record<string, any>> {
  return (await sql(rt.database.dataSource, "SELECT * FROM tasks WHERE id = $1", [id])).rows[0]!;
}

async function runEnded(taskId: number, number: number, timeoutMs = 30_000): Promise<RunRow> {
  return waitFor(async () => {
    children.check();
    const run = (await runs(taskId)).find((r) => r.number === number);
    return run && run.outcome !== "running" ? run : undefined;
  }, timeoutMs, `run ${number} of task ${taskId} to end`);
}

/** Every file under `dir` (git's own included), read as text. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) found.push(...filesUnder(full));
    else found.push(full);
  }
  return found;
}

function remoteLog(remote: string, branch: string): string[] {
  return execFileSync("git", ["--git-dir", remote, "log", "--format=%s", branch], { encoding: "utf8" }).trim().split("\n");
}

function issueComments(c: Crew, number: number) {
  return github.comments.filter((comment) => comment.repository === `${c.owner}/app` && comment.issue_number === number);
}

/** What the README shows of this path: the runner's log, the task's events, the run, the pull request and the comments. */
async function writeTranscript(file: string, c: Crew, taskId: number, runId: string, runner: Spawned): Promise<void> {
  const events = (await c.api.get(`/api/v1/tasks/${taskId}/events?limit=100`)).body.data as { type: string; from: string | null; to: string | null; actor_type: string; data: { note?: string } }[];
  const run = (await c.api.get(`/api/v1/tasks/${taskId}/runs/${runId}`)).body;
  const pr = github.pullRequests.find((p) => p.repository === `${c.owner}/app`)!;
  const lines = [
    "$ npm run agent -- --url <app> --key <agent key> --command 'node test/helpers/scripted-agent.mjs'",
    readFileSync(runner.logPath, "utf8").trim(),
    "",
    `$ GET /api/v1/tasks/${taskId}/events   (oldest first)`,
    ...events.reverse().map((e) => `${e.type.padEnd(26)} ${e.actor_type.padEnd(7)} ${e.from ? `${e.from} → ${e.to}` : ""} ${e.data.note ?? ""}`.trimEnd()),
    "",
    `$ GET /api/v1/tasks/${taskId}/runs/${runId}`,
    JSON.stringify({ ...run, log: `${run.log.split("\n").slice(0, 6).join("\n")}\n…` }, null, 2),
    "",
    `pull request #${pr.number} (${pr.draft ? "draft" : "ready"}) ${pr.head} → ${pr.base}: ${pr.title}`,
    pr.body,
    "",
    ...issueComments(c, 7).map((comment) => `comment on issue #7 (edited ${comment.edits} times): ${comment.body.split("\n").filter((l) => l && !l.startsWith("<!--")).join(" / ")}`),
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
}

beforeAll(async () => {
  await github.start();
  rt = await startTestRuntime({
    label: "agent_runner",
    env: { ...github.env, AGENT_MAX_RUNS: "2", AGENT_HEARTBEAT_TIMEOUT_S: "30", SWEEP_INTERVAL_MS: "300" },
  });
  appUrl = (await listenOnLoopback(rt)).replace(/\/mcp$/, "");
  ({ root, env: gitEnv } = gitSandbox("entourage-runner"));
  children = new ChildProcesses(root);
});
afterEach(async () => {
  await children.stopAll(5000);
});
afterAll(async () => {
  await rt?.stop();
  await github.close();
  rmSync(root, { recursive: true, force: true });
});

describe("npm run agent with a scripted coding agent", () => {
  it("takes an issue to a pull request that fixes it; merged, the task is done and the issue resolved; the token is never written", async () => {
    const c = await crew("whole-path");
    const runner = startRunner(c, "runner-whole", { SCRIPTED_AGENT: "fix", SCRIPTED_AGENT_PRINT_ENV: "1", AGENT_KEEP_WORKSPACE: "true" });
    const id = await openIssue(c, 7, "Fix the parser");

    const run = await runEnded(id, 1);
    expect(run).toMatchObject({ outcome: "pull_request", exit_code: null });
    const pr = github.pullRequests.find((p) => p.repository === `${c.owner}/app`)!;
    expect(pr).toMatchObject({ head: `entourage/task-${id}`, base: "main", title: "Fix the parser", draft: true });
    expect(pr.body).toContain("Fixes #7");
    expect(pr.body).toContain("> Wrote FIXED.md with the fix.");
    expect(pr.body).toMatch(new RegExp(`^- Fix task #${id} \\([0-9a-f]{7}\\)$`, "m"));
    expect(pr.body).toMatch(new RegExp(`^Entourage-Task: ${id}$`, "m"));
    expect(remoteLog(c.remote, `entourage/task-${id}`)).toEqual([`Fix task #${id}`, "first"]);
    expect(await taskRow(id)).toMatchObject({ status: "in_review", pull_request: { number: pr.number, url: pr.html_url, branch: `entourage/task-${id}` } });

    // The command ran in the workspace with the task, the prompt and the MCP configuration, and its output is the run's log.
    expect(run.log).toContain(`read task #${id}: [GitHub] Fix the parser`);
    expect(run.log).toContain("committed the fix");
    const envLine = run.log.split("\n").find((line) => line.startsWith("env: "))!;
    for (const name of ["ENTOURAGE_TASK_ID", "ENTOURAGE_PROMPT_FILE", "ENTOURAGE_MCP_CONFIG", "ENTOURAGE_MCP_URL", "ENTOURAGE_API_KEY"]) expect(envLine.split(" ")).toContain(name);
    expect(envLine).not.toMatch(/GIT_TOKEN|ASKPASS/);

    // The token the runner was given is nowhere: not in the workspace (git config included), its files, its logs, the run's log.
    const tokens = github.tokens.filter((t) => t.installation_id === c.installationId).map((t) => t.token);
    expect(tokens.length).toBeGreaterThan(0);
    const workdir = path.join(root, "work-runner-whole");
    // The runner removes the run's folder (prompt, MCP configuration, askpass script) once it has reported.
    await waitFor(async () => !existsSync(path.join(workdir, ".runs", run.id)), 10_000, "the run's folder to be removed");
    const files = filesUnder(workdir);
    expect(files.some((file) => file.endsWith(`FIXED-${id}.md`))).toBe(true);
    const written = files.map((file) => readFileSync(file, "latin1")).join("\n");
    const runnerLog = readFileSync(runner.logPath, "utf8");
    for (const token of tokens) {
      expect(written.includes(token)).toBe(false);
      expect(runnerLog.includes(token)).toBe(false);
      expect(run.log.includes(token)).toBe(false);
    }
    expect(runnerLog.includes(c.key)).toBe(false);

    // The issue's comment links the pull request; merging it ends the task and resolves the issue.
    await waitFor(async () => issueComments(c, 7).find((comment) => comment.body.includes(`**Pull request:** [#${pr.number}](`)), 20_000, "link in the comment");
    const merged = await deliverToApp(rt, "pull_request", pullRequestClosed({ owner: c.owner, repo: "app", number: pr.number, installationId: c.installationId, body: pr.body, merged: true }));
    expect(merged.action_taken).toBe(`tasks_done:${id}`);
    await waitFor(async () => issueComments(c, 7).find((comment) => comment.body.startsWith("Resolved in task")), 20_000, "resolution comment");
    expect(issueComments(c, 7)).toHaveLength(2);
    if (process.env.RUNNER_TRANSCRIPT) await writeTranscript(process.env.RUNNER_TRANSCRIPT, c, id, run.id, runner);
  });

  it("goes back to the same branch when a review requests changes, and the new commit updates the same pull request", async () => {
    const c = await crew("review");
    startRunner(c, "runner-review", { SCRIPTED_AGENT: "fix" });
    const id = await openIssue(c, 12, "Handle time zones");
    await runEnded(id, 1);
    const pr = github.pullRequests.find((p) => p.repository === `${c.owner}/app`)!;
    github.reviewComments.set(77, [{ path: `FIXED-${id}.md`, line: 1, body: "Say which time zone." }]);
    const review = await deliverToApp(rt, "pull_request_review", reviewSubmitted({
      owner: c.owner, repo: "app", number: pr.number, installationId: c.installationId, reviewId: 77, state: "changes_requested", body: "One more thing.", login: "maya",
    }));
    expect(review.action_taken).toBe(`changes_requested:${id}`);
    const second = await runEnded(id, 2);
    expect(second.outcome).toBe("pull_request");
    expect(remoteLog(c.remote, `entourage/task-${id}`)).toEqual([`Address the review of task #${id}`, `Fix task #${id}`, "first"]);
    expect(github.pullRequests.filter((p) => p.repository === `${c.owner}/app`)).toHaveLength(1);
    expect(await taskRow(id)).toMatchObject({ status: "in_review", pull_request: { number: pr.number } });
  });

  it("loses the run of a runner killed with SIGKILL; started again, it finishes the task with exactly one pull request", async () => {
    const c = await crew("killed");
    const env = { SCRIPTED_AGENT: "slow-fix", SCRIPTED_AGENT_DELAY_MS: "3000" };
    const first = startRunner(c, "runner-killed-1", env);
    const id = await openIssue(c, 8, "Survive a crash");
    await waitFor(async () => (await runs(id)).find((r) => r.outcome === "running" && r.log.includes("thinking")), 20_000, "the first run at work");
    await children.kill(first);

    startRunner(c, "runner-killed-2", { ...env, SCRIPTED_AGENT_DELAY_MS: "200" });
    const second = await runEnded(id, 2);
    expect(second.outcome).toBe("pull_request");
    expect((await runs(id)).map((r) => [r.number, r.outcome])).toEqual([[1, "lost"], [2, "pull_request"]]);
    expect(github.pullRequests.filter((p) => p.repository === `${c.owner}/app`)).toHaveLength(1);
    expect(remoteLog(c.remote, `entourage/task-${id}`)).toEqual([`Fix task #${id}`, "first"]);
  });

  it("kills the whole process group of a command that runs past its time, and the run is timed_out", async () => {
    const c = await crew("timeout");
    const marker = String(900_000 + Math.floor(Math.random() * 99_999));
    startRunner(c, "runner-timeout", { SCRIPTED_AGENT: "hang", SCRIPTED_AGENT_SLEEP_S: marker }, ["--timeout", "2"]);
    const id = await openIssue(c, 9, "Never ends");
    const running = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(`sleep ${marker}`);
    // The command's own child is there while it runs, so that its absence afterwards means something.
    await waitFor(async () => running(), 10_000, "the command's child to run");
    const run = await runEnded(id, 1);
    expect(run).toMatchObject({ outcome: "timed_out", reason: "the command ran past the runner's time limit (AGENT_TIMEOUT_S)" });
    expect(run.log).toContain("still working");
    await waitFor(async () => !running(), 10_000, "the command's child to be gone");
    expect(await taskRow(id)).toMatchObject({ failed_runs: 1 });
  });

  it("stops the command within 10 s of the issue being closed, and the run is cancelled", async () => {
    const c = await crew("cancel");
    startRunner(c, "runner-cancel", { SCRIPTED_AGENT: "hang" });
    const id = await openIssue(c, 10, "Closed while at work");
    await waitFor(async () => (await runs(id)).find((r) => r.log.includes("still working")), 20_000, "the run at work");
    await deliverToApp(rt, "issues", issueEvent("closed", { owner: c.owner, repo: "app", number: 10, installationId: c.installationId }));
    const run = await runEnded(id, 1);
    const cancelled = (await sql<{ at: Date }>(rt.database.dataSource, "SELECT created_at AS at FROM task_events WHERE task_id = $1 AND to_status = 'cancelled'", [id])).rows[0]!;
    expect(run.finished_at!.getTime() - cancelled.at.getTime()).toBeLessThan(10_000);
    expect(run).toMatchObject({ outcome: "cancelled", reason: "the task was cancelled" });
    expect(await taskRow(id)).toMatchObject({ status: "cancelled", failed_runs: 0 });
  });

  it("after the last failed run the task waits for a person, with one comment on the issue", async () => {
    const c = await crew("fails");
    const runner = startRunner(c, "runner-fails", { SCRIPTED_AGENT: "fail" });
    const id = await openIssue(c, 11, "Too hard");
    await runEnded(id, 2);
    const task = await waitFor(async () => {
      const t = await taskRow(id);
      return t.needs_human ? t : undefined;
    }, 20_000, "needs_human");
    expect(task).toMatchObject({ status: "todo", assignee_id: null, failed_runs: 2 });
    expect((await runs(id)).map((r) => [r.outcome, r.reason])).toEqual([
      ["failed", "the command exited with code 3"], ["failed", "the command exited with code 3"],
    ]);
    const comment = await waitFor(async () => issueComments(c, 11).find((x) => x.body.includes("runs failed.")), 20_000, "needs_human comment");
    expect(comment.body).toContain(`POST /api/v1/tasks/${id}/retry`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(issueComments(c, 11).filter((x) => x.body.includes("runs failed."))).toHaveLength(1);
    expect(tail(runner.logPath, 200)).toContain("the tests still fail; giving up");
  });
});
