import type { DataSource } from "typeorm";
import type { Task } from "../db/entities/task.js";
import type { WebhookConfig } from "../db/entities/webhook.js";
import { sql, type Queryable } from "../db/sql.js";
import { needsHumanComment, questionComment, replyComment, resolvedComment, trackedComment, type CommentKind } from "./comment-text.js";
import { mergeSettings, type GitHubTaskSource } from "./intake.js";
import { countsAsDone } from "./task-moves.js";

/** One comment of one kind on a task's GitHub issue or pull request, as recorded in github_comments. */
export interface TaskComment {
  id: string;
  status: "pending" | "posting" | "posted" | "skipped" | "failed";
  /** GitHub's id of the comment, once it is known. */
  commentId: number | undefined;
  /** The body last posted or edited in. */
  body: string | null;
}

/** What a comment job is to do for a task that came from GitHub. */
export type CommentPlan =
  | { skip: string }
  | { skip?: undefined; installationId: number; closeIssue: boolean };

interface CommentRow {
  id: string;
  status: TaskComment["status"];
  comment_id: number | null;
  body: string | null;
}

/** The task's comment of this kind (and ref), recorded once; undefined for a task that did not come from GitHub. */
export async function openTaskComment(db: Queryable, taskId: number, kind: CommentKind, ref = ""): Promise<{ task: Task; comment: TaskComment } | undefined> {
  const task = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1", [taskId])).rows[0];
  if (!task?.source) return undefined;
  await sql(
    db,
    "INSERT INTO github_comments (task_id, org_id, kind, ref) VALUES ($1, $2, $3, $4) ON CONFLICT (task_id, kind, ref) DO NOTHING",
    [taskId, task.org_id, kind, ref],
  );
  const row = (await sql<CommentRow>(db, "SELECT * FROM github_comments WHERE task_id = $1 AND kind = $2 AND ref = $3", [taskId, kind, ref])).rows[0]!;
  return { task, comment: { id: row.id, status: row.status, commentId: row.comment_id ?? undefined, body: row.body } };
}

/**
 * Whether the comment is posted, and whether the issue is closed after it: the webhook's config as it
 * is now, over the repository's settings as they were when the task was made.
 */
export async function planTaskComment(db: Queryable, task: Task, kind: CommentKind, appConfigured: boolean): Promise<CommentPlan> {
  const source = task.source as GitHubTaskSource;
  const webhookConfig: WebhookConfig = task.webhook_id
    ? (await sql<{ config: WebhookConfig }>(db, "SELECT config FROM webhooks WHERE id = $1", [task.webhook_id])).rows[0]?.config ?? {}
    : {};
  const config = mergeSettings(webhookConfig, source.repository_settings);
  if (kind === "tracked" && config.comment_on_create === false) return { skip: "comment_on_create is false for this task's webhook or repository" };
  if (source.installation_id === null) return { skip: `no GitHub App installation covers ${source.repository}` };
  if (!appConfigured) return { skip: "the GitHub App is not configured" };
  return { installationId: source.installation_id, closeIssue: kind === "resolved" && config.close_issue === true };
}

/** The status comment's view of the task as it is now: assignee, running run, pull request, sub-tasks. */
async function statusView(db: Queryable, task: Task) {
  const row = (await sql<{ assignee: string | null; running: boolean; subtasks: { id: number; title: string; status: string }[] }>(
    db,
    `SELECT (SELECT name FROM agents WHERE id = $2) AS assignee,
            EXISTS (SELECT 1 FROM task_runs WHERE task_id = $1 AND outcome = 'running') AS running,
            COALESCE((SELECT json_agg(json_build_object('id', id, 'title', title, 'status', status) ORDER BY id) FROM tasks WHERE parent_id = $1), '[]'::json) AS subtasks`,
    [task.id, task.assignee_id],
  )).rows[0]!;
  return { ...task, ...row };
}

/**
 * The comment's text for the task as it is now: its status, or the sub-tasks that resolved it, or why its
 * runs stopped. A question's or a reply's text is fixed when it is asked for (`text`).
 */
export async function renderTaskComment(db: Queryable, taskId: number, kind: CommentKind, ref = "", text = ""): Promise<string> {
  const task = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1", [taskId])).rows[0]!;
  if (kind === "tracked") return trackedComment(await statusView(db, task));
  if (kind === "question") {
    const agent = task.assignee_id ? (await sql<{ name: string }>(db, "SELECT name FROM agents WHERE id = $1", [task.assignee_id])).rows[0] : undefined;
    return questionComment(task.id, agent?.name ?? "The agent", text, ref);
  }
  if (kind === "reply") return replyComment(task.id, ref, text);
  if (kind === "needs_human") {
    const last = (await sql<{ reason: string | null }>(db, "SELECT reason FROM task_runs WHERE task_id = $1 AND finished_at IS NOT NULL ORDER BY number DESC LIMIT 1", [task.id])).rows[0];
    return needsHumanComment(task.id, task.failed_runs, last?.reason ?? null);
  }
  const done = await sql<{ id: number }>(db, `SELECT id FROM tasks t WHERE parent_id = $1 AND ${countsAsDone("t")} ORDER BY id`, [task.id]);
  return resolvedComment(task.id, done.rows.map((r) => r.id));
}

async function setComment(db: Queryable, id: string, fields: Partial<{ status: string; comment_id: number; comment_url: string; body: string; error: string | null }>): Promise<void> {
  const keys = Object.keys(fields);
  const assignments = keys.map((key, i) => `${key} = $${i + 2}`).join(", ");
  await sql(db, `UPDATE github_comments SET ${assignments}, updated_at = now() WHERE id = $1`, [id, ...Object.values(fields)]);
}

/** The comment will not be posted, and why; a later job for it does nothing. */
export async function skipTaskComment(db: Queryable, id: string, reason: string): Promise<void> {
  await setComment(db, id, { status: "skipped", error: reason });
}

export async function countCommentAttempt(db: Queryable, id: string): Promise<void> {
  await sql(db, "UPDATE github_comments SET attempts = attempts + 1 WHERE id = $1", [id]);
}

/** A comment an earlier try posted but could not record. */
export async function recordCommentFound(db: Queryable, id: string, found: { id: number; html_url: string }): Promise<void> {
  await setComment(db, id, { comment_id: found.id, comment_url: found.html_url });
}

/**
 * Set before posting: a try interrupted after it looks for the comment by its marker instead of posting again.
 * One worker at a time posts a comment: false while another one is posting it (set less than a minute ago, no
 * failure recorded since).
 */
export async function markCommentPosting(db: Queryable, id: string): Promise<boolean> {
  const claimed = await sql(
    db,
    `UPDATE github_comments SET status = 'posting', error = NULL, updated_at = now()
      WHERE id = $1 AND comment_id IS NULL
        AND (status <> 'posting' OR error IS NOT NULL OR updated_at < now() - interval '1 minute') RETURNING id`,
    [id],
  );
  return claimed.rows.length > 0;
}

/** The body is on GitHub; `created` is given when it was just posted rather than edited in. */
export async function recordCommentPosted(db: Queryable, id: string, body: string, created?: { id: number; html_url: string }): Promise<void> {
  await setComment(db, id, created
    ? { status: "posted", comment_id: created.id, comment_url: created.html_url, body, error: null }
    : { status: "posted", body, error: null });
}

/**
 * Edits the posted comment to the task's state as it is now, with its row locked: one edit at a time per
 * comment, each comparing with the body the last one left, so that jobs racing after one change make one edit.
 */
export async function editTaskComment(
  db: DataSource,
  comment: { id: string; taskId: number; kind: CommentKind; ref: string; text: string },
  edit: (body: string) => Promise<void>,
): Promise<void> {
  await db.transaction(async (manager) => {
    const row = (await sql<{ body: string | null }>(manager, "SELECT body FROM github_comments WHERE id = $1 FOR UPDATE", [comment.id])).rows[0]!;
    const body = await renderTaskComment(manager, comment.taskId, comment.kind, comment.ref, comment.text);
    if (body === row.body) return;
    await edit(body);
    await setComment(manager, comment.id, { status: "posted", body, error: null });
  });
}

/** A failed try; a non-final one keeps the status, so that a retry after `posting` looks for a comment that did get posted. */
export async function recordCommentFailure(db: Queryable, id: string, message: string, final: boolean): Promise<void> {
  await setComment(db, id, final ? { status: "failed", error: message } : { error: message });
}

/** Where a reaction for the task goes: its issue through its installation; undefined when it has none. */
export async function reactionTarget(db: Queryable, taskId: number): Promise<{ installationId: number; repository: string; number: number } | undefined> {
  const task = (await sql<Pick<Task, "source">>(db, "SELECT source FROM tasks WHERE id = $1", [taskId])).rows[0];
  const source = task?.source;
  if (!source || source.installation_id === null) return undefined;
  return { installationId: source.installation_id, repository: source.repository, number: source.number };
}
