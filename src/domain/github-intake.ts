import { sql } from "../db/sql.js";
import type { Task } from "../db/entities/task.js";
import { assignIfIdleAgent, unassignTask } from "./assignment.js";
import type { DeliveryOutcome } from "./deliveries.js";
import { labelNames, taskDraftFromGitHub } from "./github-tasks.js";
import { findSourceTask, ignored, type GitHubTaskSource, type IntakeContext, type IntakeDecision } from "./intake.js";
import { scheduleJob } from "./outbox.js";
import { priorityFromLabels } from "./priorities.js";
import { FINISHED } from "./task-states.js";
import { moveLockedTask } from "./task-moves.js";
import { createTaskFromSource } from "./tasks.js";
import { recordTaskEvent, SYSTEM_ACTOR, type Actor } from "./task-events.js";

function webhookActor(context: IntakeContext): Actor {
  return { type: "webhook", id: context.webhook.id };
}

function item(context: IntakeContext) {
  const isPullRequest = context.payload.pull_request !== undefined;
  return { item: (context.payload.pull_request ?? context.payload.issue)!, kind: isPullRequest ? "pull_request" as const : "issue" as const };
}

async function sourceTask(context: IntakeContext): Promise<Task | undefined> {
  const { item: it, kind } = item(context);
  return findSourceTask(context.manager, context.webhook.org_id, context.payload.repository.full_name, kind, it.number);
}

function done(action: string, task: Task): DeliveryOutcome {
  return { status: "processed", actionTaken: `${action}:${task.id}`, taskId: task.id };
}

/**
 * The task's tags after the item's labels became `labels`: tags that came from labels follow them,
 * other tags stay where they are; a label that is already a tag of another origin leaves it as it is.
 */
export function tagsFromLabels(tags: readonly string[], labelTags: readonly string[], labels: readonly string[]): { tags: string[]; labelTags: string[] } {
  const current = [...new Set(labels)];
  const kept = tags.filter((tag) => !labelTags.includes(tag) || current.includes(tag));
  const added = current.filter((label) => !kept.includes(label));
  return { tags: [...kept, ...added], labelTags: current.filter((label) => labelTags.includes(label) || added.includes(label)) };
}

/** issues.opened, pull_request.opened: a new task for the team, assigned at once when an agent is idle. */
export const openTask: IntakeDecision = async (context) => {
  if (!context.teamId) return ignored("the webhook has no team_id, so no task is created");
  const ownTasks = context.payload.pull_request ? linkedReferences(context.payload.pull_request.body).tasks : [];
  if (ownTasks.length > 0) return ignored(`the pull request of task ${ownTasks.map((id) => `#${id}`).join(", ")}: no task of its own`);
  const draft = taskDraftFromGitHub(context.payload, {
    provider: context.installationId !== null ? "github_app" : "github",
    labelPriorities: context.settings.label_priorities,
  });
  const source: GitHubTaskSource = {
    ...draft.source,
    label_tags: tagsFromLabels([draft.source.kind, "github"], [], labelNames(item(context).item)).labelTags,
    repository_settings: context.repositorySettings,
  };
  const autoAssign = context.settings.auto_assign === true;
  const { task, created } = await createTaskFromSource(context.manager, {
    orgId: context.webhook.org_id, teamId: context.teamId, draft: { ...draft, source }, actor: webhookActor(context),
    webhookId: context.webhook.id, autoAssign,
  });
  if (!created) return done("task_exists", task);
  const assigned = autoAssign ? await assignIfIdleAgent(context.manager, task) : task;
  if (context.settings.comment_on_create !== false) {
    await scheduleJob(context.manager, "github-comment", { taskId: task.id, kind: "tracked" }, { jobId: `comment-${task.id}-tracked` });
  }
  return done("task_created", assigned);
};

/**
 * issues.closed cancels the task unless it is done; issues.reopened brings a finished task back to
 * todo without its agent, which has moved on, each change recorded.
 */
export const syncIssueState: IntakeDecision = async (context) => {
  const task = await sourceTask(context);
  if (!task) return ignored(`no task for ${context.delivery.event_type.split(".")[0]} #${item(context).item.number}`);
  const action = context.payload.action as string;
  if (action === "closed") {
    if (FINISHED.includes(task.status)) return done("task_unchanged", task);
    return done("task_cancelled", await moveLockedTask(context.manager, task, "cancelled", SYSTEM_ACTOR, { system: true }));
  }
  if (task.status !== "cancelled" && task.status !== "done") return done("task_unchanged", task);
  const reopened = await moveLockedTask(context.manager, task, "todo", SYSTEM_ACTOR, { system: true });
  const cleared = await unassignTask(context.manager, reopened, SYSTEM_ACTOR);
  if (cleared.auto_assign) await scheduleJob(context.manager, "assign", { teamId: cleared.team_id });
  return done("task_reopened", cleared);
};

/**
 * issues.labeled / unlabeled / edited: priority, tags, title and description follow the issue. Tags are
 * recomputed from the event's full label list, so a delivery that never arrived leaves nothing behind.
 */
export const syncIssueContent: IntakeDecision = async (context) => {
  const task = await sourceTask(context);
  if (!task) return ignored(`no task for ${context.delivery.event_type.split(".")[0]} #${item(context).item.number}`);
  const { item: it } = item(context);
  const source = task.source as GitHubTaskSource;
  const labels = tagsFromLabels(task.tags, source.label_tags ?? [], labelNames(it));
  const draft = taskDraftFromGitHub(context.payload, { provider: source.provider, labelPriorities: context.settings.label_priorities });
  const next = {
    title: draft.title,
    description: draft.description,
    priority: priorityFromLabels(labelNames(it), context.settings.label_priorities),
    tags: labels.tags,
  };
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(next) as (keyof typeof next)[]) {
    if (JSON.stringify(task[key]) !== JSON.stringify(next[key])) changes[key] = { from: task[key], to: next[key] };
  }
  const labelTags = JSON.stringify(labels.labelTags);
  if (Object.keys(changes).length === 0) {
    // A label whose tag was removed by hand went away: only the record of label tags changes.
    if (JSON.stringify(source.label_tags ?? []) !== labelTags) {
      await sql(context.manager, "UPDATE tasks SET source = jsonb_set(source, '{label_tags}', $2::jsonb) WHERE id = $1", [task.id, labelTags]);
    }
    return done("task_unchanged", task);
  }
  const updated = (await sql<Task>(
    context.manager,
    `UPDATE tasks SET title = $2, description = $3, priority = $4, tags = $5,
            source = jsonb_set(source, '{label_tags}', $6::jsonb), updated_at = now()
      WHERE id = $1 RETURNING *`,
    [task.id, next.title, next.description, next.priority, next.tags, labelTags],
  )).rows[0]!;
  await recordTaskEvent(context.manager, updated, { type: "task.updated", actor: webhookActor(context), data: { changes } });
  return done("task_updated", updated);
};

const CLOSING_KEYWORD = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d+)\b/gi;
const TASK_TRAILER = /^Entourage-Task:\s*#?(\d+)\s*$/gim;

/** Issue numbers a pull request body closes (`Fixes #12`) and task ids it names (`Entourage-Task: 601`). */
export function linkedReferences(body: string | null | undefined): { issues: number[]; tasks: number[] } {
  const text = body ?? "";
  const issues = [...text.matchAll(CLOSING_KEYWORD)].map((m) => Number(m[1]));
  const tasks = [...text.matchAll(TASK_TRAILER)].map((m) => Number(m[1]));
  return { issues: [...new Set(issues)], tasks: [...new Set(tasks)] };
}

async function completeThroughMerging(context: IntakeContext, task: Task): Promise<boolean> {
  if (FINISHED.includes(task.status)) return false;
  const merging = await moveLockedTask(context.manager, task, "merging", SYSTEM_ACTOR, { system: true });
  await moveLockedTask(context.manager, merging, "done", SYSTEM_ACTOR, { system: true });
  return true;
}

/**
 * pull_request.closed: merged, the pull request's own task and every task it links move to done
 * (through merging); closed without merging, its own task is cancelled.
 */
export const syncPullRequestClosed: IntakeDecision = async (context) => {
  const pr = context.payload.pull_request as unknown as { number: number; merged?: boolean; body?: string | null };
  const own = await sourceTask(context);
  if (!pr.merged) {
    const rejected = await agentTaskOfPullRequest(context, pr.number, linkedReferences(pr.body).tasks);
    if (rejected) return done("task_pull_request_closed", await pullRequestClosedUnmerged(context, rejected, pr.number));
    if (!own || FINISHED.includes(own.status)) return own ? done("task_unchanged", own) : ignored(`no task for pull_request #${pr.number}`);
    return done("task_cancelled", await moveLockedTask(context.manager, own, "cancelled", SYSTEM_ACTOR, { system: true }));
  }
  const refs = linkedReferences(pr.body);
  const linked: Task[] = [];
  for (const number of refs.issues) {
    const task = await findSourceTask(context.manager, context.webhook.org_id, context.payload.repository.full_name, "issue", number);
    if (task) linked.push(task);
  }
  if (refs.tasks.length > 0) {
    const named = await sql<Task>(context.manager, "SELECT * FROM tasks WHERE org_id = $1 AND id = ANY($2::integer[]) ORDER BY id FOR UPDATE", [context.webhook.org_id, refs.tasks]);
    linked.push(...named.rows);
  }
  const completed: number[] = [];
  for (const task of own ? [own, ...linked] : linked) {
    if (completed.includes(task.id)) continue;
    if (await completeThroughMerging(context, task)) completed.push(task.id);
  }
  if (completed.length === 0) return ignored(`pull_request #${pr.number} links no open task`);
  return { status: "processed", actionTaken: `tasks_done:${completed.join(",")}`, taskId: completed[0]! };
};

/** The open task whose agent's run opened this pull request (its trailer names the task, which records the number). */
async function agentTaskOfPullRequest(context: IntakeContext, number: number, named: number[]): Promise<Task | undefined> {
  if (named.length === 0) return undefined;
  const result = await sql<Task>(
    context.manager,
    `SELECT * FROM tasks WHERE org_id = $1 AND id = ANY($2::integer[]) AND (pull_request->>'number')::integer = $3
        AND status <> ALL($4::text[]) ORDER BY id LIMIT 1 FOR UPDATE`,
    [context.webhook.org_id, named, number, FINISHED],
  );
  return result.rows[0];
}

/**
 * A person closed the agent's pull request without merging it: the task waits for a person (needs_human),
 * without its agent and without the pull request, so that a retry opens a new one from the same branch.
 */
async function pullRequestClosedUnmerged(context: IntakeContext, task: Task, number: number): Promise<Task> {
  const moved = task.status === "todo" ? task : await moveLockedTask(context.manager, task, "todo", SYSTEM_ACTOR, { system: true, note: `pull request #${number} closed without merging` });
  const waiting = (await sql<Task>(
    context.manager,
    "UPDATE tasks SET pull_request = NULL, needs_human = true, auto_assign = false, updated_at = now() WHERE id = $1 RETURNING *",
    [moved.id],
  )).rows[0]!;
  await recordTaskEvent(context.manager, waiting, { type: "task.pull_request_closed", actor: webhookActor(context), data: { number, merged: false } });
  return unassignTask(context.manager, waiting, SYSTEM_ACTOR);
}
