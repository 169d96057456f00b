import type { DataSource, EntityManager } from "typeorm";
import { v7 as uuid7 } from "uuid";
import { TASK_PRIORITIES, type Task, type TaskPriority } from "../db/entities/task.js";
import { sql } from "../db/sql.js";
import { taskInScope, teamAgentNamed, type AgentScope } from "./agent-scope.js";
import { sendAgentMessage } from "./agent-messages.js";
import { giveTask } from "./assignment.js";
import type { DeliveryOutcome } from "./deliveries.js";
import { ConflictError, DomainError } from "./errors.js";
import { findSourceTask, ignored, type IntakeContext } from "./intake.js";
import { scheduleJob } from "./outbox.js";
import { retryLockedTask } from "./runs.js";
import { FINISHED } from "./task-states.js";
import { lockTask, moveLockedTask } from "./task-moves.js";
import { recordTaskEvent, type Actor } from "./task-events.js";

/** A collaborator's permission on a repository, as GitHub names it. */
export type RepositoryPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** Looks up (and keeps for a few minutes) what a GitHub user may do on the delivery's repository. */
export type PermissionOf = (login: string) => Promise<RepositoryPermission>;

const STEERING = new Set<RepositoryPermission>(["admin", "maintain", "write"]);

export const COMMANDS_HELP = "`/entourage retry`, `/entourage cancel`, `/entourage priority <critical|high|medium|low>`, `/entourage assign <agent name>`";

function githubUser(login: string): Actor {
  return { type: "user", id: `github:${login}` };
}

/**
 * An agent asks the people of the task's issue a question: one comment carries it, and the task waits for
 * the answer (its runs too). Only the task's agent asks, on an open task that came from GitHub.
 */
export async function askHuman(db: DataSource, scope: AgentScope, taskId: number, question: string, actor: Actor): Promise<Task> {
  await taskInScope(db, scope, taskId);
  return db.transaction(async (manager) => {
    const task = await lockTask(manager, scope.orgId, taskId);
    if (task.assignee_id !== scope.agent.id) throw new ConflictError(`task #${taskId} is not assigned to you; only its agent asks about it`, "not_assignee");
    if (FINISHED.includes(task.status)) throw new ConflictError(`task #${taskId} is ${task.status}; questions are asked on open tasks only`, "task_finished");
    if (!task.source) throw new ConflictError(`task #${taskId} did not come from GitHub: there is no issue to ask on; use report_progress`, "no_issue");
    const questionId = uuid7();
    const waiting = (await sql<Task>(manager, "UPDATE tasks SET waiting_for_human = true, updated_at = now() WHERE id = $1 RETURNING *", [taskId])).rows[0]!;
    await recordTaskEvent(manager, waiting, { type: "task.question_asked", actor, data: { question_id: questionId, question } });
    await scheduleJob(manager, "github-comment", { taskId, kind: "question", ref: questionId, text: question }, { jobId: `comment-${taskId}-question-${questionId}` });
    return waiting;
  });
}

/** What a comment says to Entourage: a command, or nothing. */
export type Command =
  | { name: "retry" | "cancel" }
  | { name: "priority"; priority: TaskPriority }
  | { name: "assign"; agent: string }
  | { name: "unknown"; text: string };

/** The first line that starts with /entourage; undefined when no line does. */
export function parseCommand(body: string | null | undefined): Command | undefined {
  const line = (body ?? "").split(/\r?\n/).map((l) => l.trim()).find((l) => /^\/entourage(\s|$)/i.test(l));
  if (line === undefined) return undefined;
  const [, verb = "", ...rest] = line.split(/\s+/);
  const argument = rest.join(" ");
  switch (verb.toLowerCase()) {
    case "retry":
    case "cancel":
      return argument ? { name: "unknown", text: line } : { name: verb.toLowerCase() as "retry" | "cancel" };
    case "priority": {
      const priority = argument.toLowerCase();
      return (TASK_PRIORITIES as readonly string[]).includes(priority) ? { name: "priority", priority: priority as TaskPriority } : { name: "unknown", text: line };
    }
    case "assign":
      return argument ? { name: "assign", agent: argument.replace(/^@/, "") } : { name: "unknown", text: line };
    default:
      return { name: "unknown", text: line };
  }
}

interface CommentPayload {
  comment: { id: number; body?: string | null; user?: { login?: string; type?: string } };
  issue: { number: number; pull_request?: unknown };
}

/** The task an issue comment is about: the issue's (or pull request's) own task, or the task whose pull request it is. */
async function taskOfItem(context: IntakeContext, number: number, isPullRequest: boolean): Promise<Task | undefined> {
  const repository = context.payload.repository.full_name;
  const own = await findSourceTask(context.manager, context.webhook.org_id, repository, isPullRequest ? "pull_request" : "issue", number);
  if (own || !isPullRequest) return own;
  const result = await sql<Task>(
    context.manager,
    `SELECT * FROM tasks WHERE org_id = $1 AND source->>'repository' = $2 AND (pull_request->>'number')::integer = $3 ORDER BY id LIMIT 1 FOR UPDATE`,
    [context.webhook.org_id, repository, number],
  );
  return result.rows[0];
}

/** Whether a comment or review of this GitHub id was acted on already (a redelivery, or a second delivery of it). */
async function alreadyHandled(manager: EntityManager, taskId: number, key: "comment_id" | "review_id", id: number): Promise<boolean> {
  const result = await sql(manager, `SELECT 1 FROM task_events WHERE task_id = $1 AND data->>'${key}' = $2 LIMIT 1`, [taskId, String(id)]);
  if (result.rows.length > 0) return true;
  if (key !== "comment_id") return false;
  // A refused command changes nothing on the task: its reply is its record.
  const replied = await sql(manager, "SELECT 1 FROM github_comments WHERE task_id = $1 AND kind = 'reply' AND ref = $2", [taskId, String(id)]);
  return replied.rows.length > 0;
}

async function reply(manager: EntityManager, task: Task, commentId: number, text: string): Promise<void> {
  await scheduleJob(manager, "github-comment", { taskId: task.id, kind: "reply", ref: String(commentId), text }, { jobId: `comment-${task.id}-reply-${commentId}` });
  // Recorded at once, so that a second delivery of the comment finds it answered.
  await sql(
    manager,
    "INSERT INTO github_comments (task_id, org_id, kind, ref) VALUES ($1, $2, 'reply', $3) ON CONFLICT (task_id, kind, ref) DO NOTHING",
    [task.id, task.org_id, String(commentId)],
  );
}

async function react(manager: EntityManager, task: Task, commentId: number): Promise<void> {
  await scheduleJob(manager, "github-reaction", { taskId: task.id, content: "+1", commentId }, { jobId: `reaction-comment-${commentId}-+1` });
}

/** Carries out a command of a person with write access; a refusal (an illegal move, an unknown agent) is its reply. */
async function runCommand(manager: EntityManager, task: Task, command: Command, login: string, commentId: number): Promise<{ done: string } | { refused: string }> {
  const actor = githubUser(login);
  const data = { comment_id: commentId, via: "github_comment" };
  switch (command.name) {
    case "retry":
      await retryLockedTask(manager, task, actor, data);
      return { done: "retry" };
    case "cancel":
      await moveLockedTask(manager, task, "cancelled", actor, { note: `/entourage cancel by @${login} (comment ${commentId})` });
      return { done: "cancel" };
    case "priority": {
      if (task.priority === command.priority) return { refused: `Task #${task.id} is already ${command.priority}.` };
      const updated = (await sql<Task>(manager, "UPDATE tasks SET priority = $2, updated_at = now() WHERE id = $1 RETURNING *", [task.id, command.priority])).rows[0]!;
      await recordTaskEvent(manager, updated, { type: "task.updated", actor, data: { ...data, changes: { priority: { from: task.priority, to: command.priority } } } });
      return { done: "priority" };
    }
    case "assign": {
      // An unknown name is refused with the team's agent names, as the MCP tools refuse it.
      const agent = await teamAgentNamed(manager, { orgId: task.org_id, teamId: task.team_id }, command.agent);
      if (FINISHED.includes(task.status)) return { refused: `Task #${task.id} is ${task.status}; reopen the issue first.` };
      await sql(manager, "UPDATE tasks SET auto_assign = false WHERE id = $1", [task.id]);
      await giveTask(manager, task, agent, actor);
      return { done: "assign" };
    }
    case "unknown":
      return { refused: `Unknown command \`${command.text}\`. Entourage understands ${COMMANDS_HELP}.` };
  }
}

/**
 * issue_comment.created on the issue of a task (or on its agent's pull request): a command of a person with
 * write access is carried out and recorded with them as the actor (👍, or one reply when refused); the same
 * from anyone else changes nothing and gets one reply saying why. While the agent waits for an answer, the next
 * comment of a person with write access is the answer: a message in the agent's inbox, and its runs go on.
 */
export async function handleIssueComment(context: IntakeContext, permissionOf: PermissionOf): Promise<DeliveryOutcome> {
  const payload = context.payload as unknown as CommentPayload & IntakeContext["payload"];
  const { comment, issue } = payload;
  const login = comment.user?.login ?? payload.sender?.login ?? "";
  if (comment.user?.type === "Bot" || login.endsWith("[bot]")) return ignored(`comment by ${login}, a bot`);
  const task = await taskOfItem(context, issue.number, issue.pull_request !== undefined);
  if (!task) return ignored(`no task for #${issue.number}`);
  const done = (action: string): DeliveryOutcome => ({ status: "processed", actionTaken: `${action}:${task.id}`, taskId: task.id });
  if (await alreadyHandled(context.manager, task.id, "comment_id", comment.id)) return ignored(`comment ${comment.id} was handled already`, { taskId: task.id });

  const command = parseCommand(comment.body);
  if (!command && !task.waiting_for_human) return ignored("a comment that is neither a command nor an answer", { taskId: task.id });
  const permission = await permissionOf(login);
  const steers = STEERING.has(permission);
  if (command) {
    if (!steers) {
      await reply(context.manager, task, comment.id, `@${login} Entourage takes commands from people with write access to ${payload.repository.full_name}; yours is ${permission}. Nothing was changed.`);
      return done("command_refused");
    }
    let result: { done: string } | { refused: string };
    try {
      result = await runCommand(context.manager, task, command, login, comment.id);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      result = { refused: `${error.message}.` };
    }
    if ("done" in result) {
      await react(context.manager, task, comment.id);
      return done(`command_${result.done}`);
    }
    await reply(context.manager, task, comment.id, `@${login} ${result.refused}`);
    return done("command_refused");
  }
  if (!steers) return ignored(`@${login} (${permission}) cannot answer the agent: write access is needed`, { taskId: task.id });
  return done(await answerQuestion(context.manager, task, login, comment.id, comment.body ?? ""));
}

async function answerQuestion(manager: EntityManager, task: Task, login: string, commentId: number, answer: string): Promise<string> {
  const question = (await sql<{ question: string }>(
    manager,
    "SELECT data->>'question' AS question FROM task_events WHERE task_id = $1 AND type = 'task.question_asked' ORDER BY created_at DESC, id DESC LIMIT 1",
    [task.id],
  )).rows[0]?.question ?? "";
  const answered = (await sql<Task>(manager, "UPDATE tasks SET waiting_for_human = false, updated_at = now() WHERE id = $1 RETURNING *", [task.id])).rows[0]!;
  await recordTaskEvent(manager, answered, { type: "task.answered", actor: githubUser(login), data: { comment_id: commentId, question, answer } });
  if (answered.assignee_id) {
    await sendAgentMessage(manager, {
      orgId: task.org_id, agentId: answered.assignee_id, taskId: task.id, from: { type: "person", name: login },
      body: `Answer to your question "${question}":\n\n${answer}`,
    });
  }
  return "question_answered";
}

interface ReviewPayload {
  review: { id: number; state: string; body?: string | null; user?: { login?: string; type?: string } };
  pull_request: { number: number };
}

/** A review's line comments, as GitHub lists them for the review. */
export type ReviewComments = () => Promise<{ path: string; line: number | null; body: string }[]>;

/**
 * pull_request_review.submitted on a task's pull request. Changes requested: the task goes back to
 * in_progress, the review and its line comments reach the agent as messages, and the agent is dispatched
 * again on the same branch (the same pull request). An approval is recorded. A review acts once.
 */
export async function handleReview(context: IntakeContext, lineComments: ReviewComments): Promise<DeliveryOutcome> {
  const payload = context.payload as unknown as ReviewPayload & IntakeContext["payload"];
  const { review } = payload;
  const login = review.user?.login ?? payload.sender?.login ?? "";
  if (review.user?.type === "Bot" || login.endsWith("[bot]")) return ignored(`review by ${login}, a bot`);
  const task = await taskOfItem(context, payload.pull_request.number, true);
  if (!task) return ignored(`no task for pull request #${payload.pull_request.number}`);
  if (await alreadyHandled(context.manager, task.id, "review_id", review.id)) return ignored(`review ${review.id} was handled already`, { taskId: task.id });
  const state = review.state.toLowerCase();
  const actor = githubUser(login);
  if (state === "approved") {
    await recordTaskEvent(context.manager, task, { type: "task.review_approved", actor, data: { review_id: review.id, pull_request: payload.pull_request.number } });
    return { status: "processed", actionTaken: `review_approved:${task.id}`, taskId: task.id };
  }
  if (state !== "changes_requested") return ignored(`a ${state} review`, { taskId: task.id });
  if (FINISHED.includes(task.status)) return ignored(`task #${task.id} is ${task.status}`, { taskId: task.id });
  const comments = await lineComments();
  await recordTaskEvent(context.manager, task, {
    type: "task.changes_requested", actor, data: { review_id: review.id, pull_request: payload.pull_request.number, body: review.body ?? "", comments },
  });
  // Back to its agent, or, without one, to the team's waiting tasks.
  const to = task.assignee_id ? "in_progress" : "todo";
  const moved = task.status === to ? task : await moveLockedTask(context.manager, task, to, actor, { system: true, note: `changes requested by @${login}` });
  if (moved.assignee_id) {
    const lines = comments.map((c) => `- ${c.path}${c.line ? `:${c.line}` : ""}: ${c.body}`);
    await sendAgentMessage(context.manager, {
      orgId: task.org_id, agentId: moved.assignee_id, taskId: task.id, from: { type: "review", name: login },
      body: [`Changes requested on pull request #${payload.pull_request.number}:`, review.body ?? "", ...lines].filter((l) => l !== "").join("\n"),
    });
    // Its runner claims the task again (it is still dispatched to it) and continues the same branch.
  } else {
    await sql(context.manager, "UPDATE tasks SET auto_assign = true WHERE id = $1", [task.id]);
    await scheduleJob(context.manager, "assign", { teamId: task.team_id });
  }
  return { status: "processed", actionTaken: `changes_requested:${task.id}`, taskId: task.id };
}
