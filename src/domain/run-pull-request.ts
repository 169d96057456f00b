import type { DataSource } from "typeorm";
import type { Task, TaskPullRequest } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import { ConflictError, ValidationError } from "./errors.js";
import type { GitHubTaskSource } from "./intake.js";
import { runBranch } from "./run-prompt.js";
import { recordPullRequest, runningRunOfAssignee } from "./runs.js";
import { githubItemOf } from "./task-detail.js";

/** A commit the run made, as the runner lists it. */
export interface RunCommit {
  sha: string;
  subject: string;
}

export interface PullRequestRequest {
  orgId: string;
  agentId: string;
  taskId: number;
  runId: string;
  branch: string;
  commits: readonly RunCommit[];
}

/** The pull request to open on GitHub, in the adapter's terms. */
export interface PullRequestToOpen {
  head: string;
  base?: string;
  title: string;
  body: string;
  draft: boolean;
}

export type OpenPullRequest = (installationId: number, repository: string, draft: PullRequestToOpen) => Promise<{ number: number; url: string }>;

const MAX_LISTED_COMMITS = 20;

/** Title: the issue's own; body: what the agent did (its commits and progress notes), the closing reference, and the task trailer. */
export function pullRequestText(task: Task, agentName: string, runNumber: number, commits: readonly RunCommit[], notes: readonly string[]): { title: string; body: string } {
  const item = githubItemOf(task);
  const lines = ["## What the agent did", ""];
  if (notes.length > 0) lines.push(...notes.map((note) => `> ${note.replace(/\n/g, "\n> ")}`), "");
  for (const commit of commits.slice(0, MAX_LISTED_COMMITS)) lines.push(`- ${commit.subject} (${commit.sha.slice(0, 7)})`);
  if (commits.length > MAX_LISTED_COMMITS) lines.push(`- and ${commits.length - MAX_LISTED_COMMITS} more commits`);
  lines.push("");
  if (item?.kind === "issue") lines.push(`Fixes #${item.number}`, "");
  else if (item) lines.push(`Follows up #${item.number}`, "");
  lines.push(`Opened by Entourage for task #${task.id}: agent ${agentName}, run ${runNumber}.`, "", `Entourage-Task: ${task.id}`);
  return { title: item?.title ?? task.title, body: lines.join("\n") };
}

async function progressNotes(db: Queryable, taskId: number, agentId: string): Promise<string[]> {
  const rows = await sql<{ message: string }>(
    db,
    `SELECT data->>'message' AS message FROM task_events
      WHERE task_id = $1 AND type = 'task.progress' AND actor_type = 'agent' AND actor_id = $2
      ORDER BY created_at DESC LIMIT 3`,
    [taskId, agentId],
  );
  return rows.rows.map((r) => r.message).filter((m) => m).reverse();
}

/**
 * Opens the pull request of the task's running run as the App, once: a task that has one answers
 * with it; GitHub's own refusal of a second pull request for the branch finds the first. Draft unless
 * the repository's .github/entourage.yml says `draft_pull_requests: false`.
 */
export async function openPullRequestForRun(db: DataSource, request: PullRequestRequest, open: OpenPullRequest | undefined): Promise<TaskPullRequest> {
  const { task, run } = await runningRunOfAssignee(db, request.orgId, request.agentId, request.taskId).catch(async (error: unknown) => {
    // A repeated call after the run ended with its pull request answers with that pull request.
    const recorded = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1 AND org_id = $2 AND assignee_id = $3", [request.taskId, request.orgId, request.agentId])).rows[0];
    if (recorded?.pull_request) return { task: recorded, run: undefined };
    throw error;
  });
  if (task.pull_request) return run ? recordPullRequest(db, request.orgId, request.agentId, task.id, run.id, task.pull_request) : task.pull_request;
  if (!run || run.id !== request.runId) throw new ConflictError(`run ${request.runId} is not the running run of task #${task.id}`, "no_running_run");
  const branch = runBranch(task.id);
  if (request.branch !== branch) throw new ValidationError(`a run of task #${task.id} pushes to ${branch}, not ${request.branch}`, "invalid_branch");
  const source = task.source as GitHubTaskSource | null;
  if (!source) throw new ConflictError(`task #${task.id} did not come from GitHub: there is no repository to open a pull request on`, "no_repository");
  if (source.installation_id === null) throw new ConflictError(`no GitHub App installation covers ${source.repository}`, "no_installation");
  if (!open) throw new ConflictError("the GitHub App is not configured: set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET", "app_not_configured");
  const agent = (await sql<{ name: string }>(db, "SELECT name FROM agents WHERE id = $1", [request.agentId])).rows[0]!;
  const text = pullRequestText(task, agent.name, run.number, request.commits, await progressNotes(db, task.id, request.agentId));
  const opened = await open(source.installation_id, source.repository, {
    head: branch, base: source.default_branch, ...text, draft: source.repository_settings?.draft_pull_requests !== false,
  });
  return recordPullRequest(db, request.orgId, request.agentId, task.id, run.id, { ...opened, branch });
}
