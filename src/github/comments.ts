import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import type { Task } from "../db/entities/task.js";
import type { WebhookConfig } from "../db/entities/webhook.js";
import { sql } from "../db/sql.js";
import { commentMarker, resolvedComment, trackedComment, type CommentKind } from "../domain/comment-text.js";
import { mergeSettings, type GitHubTaskSource } from "../domain/intake.js";
import { countsAsDone } from "../domain/task-moves.js";
import type { Logger } from "../log.js";
import type { JobHandler } from "../queue/queue.js";
import { RetryLaterError } from "../queue/queue.js";

interface CommentRow {
  id: string;
  status: "pending" | "posting" | "posted" | "skipped" | "failed";
  comment_id: string | number | null;
  body: string | null;
}

export interface CommentDeps {
  db: DataSource;
  probot: Probot;
  /** False while the GitHub App has no credentials: comments are recorded as skipped. */
  appConfigured: boolean;
  log: Logger;
}

type Octokit = Awaited<ReturnType<Probot["auth"]>>;

interface HttpError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined> };
}

/** GitHub's advice for a secondary rate limit that names no time: wait at least a minute. */
const SECONDARY_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * How long GitHub asks us to wait, when the error is a rate limit: Retry-After, else until
 * x-ratelimit-reset when none is left, else a minute for a secondary limit. A plain 403 is no rate limit.
 */
export function rateLimitDelayMs(error: HttpError, now = Date.now()): number | undefined {
  if (error.status !== 403 && error.status !== 429) return undefined;
  const headers = error.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    return Number.isFinite(reset) ? Math.max(reset - now, 1000) : SECONDARY_RATE_LIMIT_WAIT_MS;
  }
  const secondary = error.status === 429 || /secondary rate limit/i.test(error.message ?? "");
  return secondary ? SECONDARY_RATE_LIMIT_WAIT_MS : undefined;
}

async function render(db: DataSource, task: Task, kind: CommentKind): Promise<string> {
  if (kind === "tracked") {
    const agent = task.assignee_id ? (await sql<{ name: string }>(db, "SELECT name FROM agents WHERE id = $1", [task.assignee_id])).rows[0] : undefined;
    return trackedComment(task, agent?.name ?? null);
  }
  const done = await sql<{ id: number }>(db, `SELECT id FROM tasks t WHERE parent_id = $1 AND ${countsAsDone("t")} ORDER BY id`, [task.id]);
  return resolvedComment(task.id, done.rows.map((r) => r.id));
}

async function setRow(db: DataSource, id: string, fields: Partial<{ status: string; comment_id: number; comment_url: string; body: string; error: string | null }>): Promise<void> {
  const keys = Object.keys(fields);
  const assignments = keys.map((key, i) => `${key} = $${i + 2}`).join(", ");
  await sql(db, `UPDATE github_comments SET ${assignments}, updated_at = now() WHERE id = $1`, [id, ...Object.values(fields)]);
}

/** Finds a comment an earlier try posted but could not record. */
async function findByMarker(octokit: Octokit, target: { owner: string; repo: string; issue_number: number }, marker: string): Promise<{ id: number; html_url: string } | undefined> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...target, per_page: 100 });
  return comments.find((c) => c.body?.includes(marker));
}

/**
 * Posts the task's comment once and edits it afterwards: the comment id is stored, a retry
 * edits; a try interrupted between posting and recording finds its comment by its marker.
 */
export function postTaskComment(deps: CommentDeps): JobHandler<"github-comment"> {
  return async ({ taskId, kind }, job) => {
    const { db } = deps;
    const task = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1", [taskId])).rows[0];
    if (!task?.source) return;
    await sql(db, "INSERT INTO github_comments (task_id, org_id, kind) VALUES ($1, $2, $3) ON CONFLICT (task_id, kind) DO NOTHING", [taskId, task.org_id, kind]);
    const row = (await sql<CommentRow>(db, "SELECT * FROM github_comments WHERE task_id = $1 AND kind = $2", [taskId, kind])).rows[0]!;
    if (row.status === "skipped") return;

    const webhookConfig: WebhookConfig = task.webhook_id
      ? (await sql<{ config: WebhookConfig }>(db, "SELECT config FROM webhooks WHERE id = $1", [task.webhook_id])).rows[0]?.config ?? {}
      : {};
    // The webhook's config as it is now, over the repository's settings as they were when the task was made.
    const config = mergeSettings(webhookConfig, (task.source as GitHubTaskSource).repository_settings);
    const skip = kind === "tracked" && config.comment_on_create === false ? "comment_on_create is false for this task's webhook or repository"
      : task.source.installation_id === null ? `no GitHub App installation covers ${task.source.repository}`
      : !deps.appConfigured ? "the GitHub App is not configured" : undefined;
    if (skip) {
      await setRow(db, row.id, { status: "skipped", error: skip });
      return;
    }

    const [owner, repo] = task.source.repository.split("/") as [string, string];
    const target = { owner, repo, issue_number: task.source.number };
    await sql(db, "UPDATE github_comments SET attempts = attempts + 1 WHERE id = $1", [row.id]);
    try {
      const octokit = await deps.probot.auth(task.source.installation_id!);
      let commentId = row.comment_id === null ? undefined : Number(row.comment_id);
      let posted = row.body;
      if (commentId === undefined && row.status === "posting") {
        const found = await findByMarker(octokit, target, commentMarker(taskId, kind));
        if (found) {
          commentId = found.id;
          posted = null;
          await setRow(db, row.id, { comment_id: found.id, comment_url: found.html_url });
        }
      }
      // Render again after posting: a change made meanwhile (an assignment) is edited in.
      for (let pass = 0; pass < 2; pass++) {
        const current = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1", [taskId])).rows[0]!;
        const body = await render(db, current, kind);
        if (body === posted) break;
        if (commentId === undefined) {
          await setRow(db, row.id, { status: "posting" });
          const created = await octokit.rest.issues.createComment({ ...target, body });
          commentId = created.data.id;
          await setRow(db, row.id, { status: "posted", comment_id: created.data.id, comment_url: created.data.html_url, body, error: null });
        } else {
          await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
          await setRow(db, row.id, { status: "posted", body, error: null });
        }
        posted = body;
      }
      if (kind === "resolved" && config.close_issue === true) {
        await octokit.rest.issues.update({ ...target, state: "closed", state_reason: "completed" });
      }
    } catch (error) {
      const e = error as HttpError;
      const wait = rateLimitDelayMs(e);
      if (wait !== undefined) throw new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
      const message = `GitHub answered ${e.status ?? "no response"}: ${e.message ?? String(error)}`;
      // The issue or repository is gone: record it; trying again cannot help.
      const final = e.status === 404 || e.status === 410 || e.status === 422 || job.isLastAttempt;
      // A non-final failure keeps the status: `posting` makes the retry look for a comment that did get posted.
      await setRow(db, row.id, final ? { status: "failed", error: message } : { error: message });
      deps.log.warn({ task_id: taskId, kind, status: e.status, final }, "GitHub comment not posted");
      if (!final) throw error;
    }
  };
}
