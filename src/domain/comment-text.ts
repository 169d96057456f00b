/** "#601-#603" for consecutive ids, "#601, #605" otherwise, mixed as needed. */
export function formatTaskIds(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `#${sorted[i]}-#${sorted[j]}` : `#${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(", ");
}

export type CommentKind = "tracked" | "resolved" | "needs_human" | "question" | "reply";

/** An invisible line that lets a retry find a comment it posted before it could record it. */
export function commentMarker(taskId: number, kind: CommentKind, ref = ""): string {
  return `<!-- entourage:task-${taskId}:${kind}${ref ? `:${ref}` : ""} -->`;
}

/** What the status comment shows of a task. */
export interface StatusView {
  id: number;
  priority: string;
  status: string;
  assignee: string | null;
  pull_request?: { number: number; url: string } | null;
  needs_human?: boolean;
  waiting_for_human?: boolean;
  failed_runs?: number;
  /** A run of an agent is at work on it now. */
  running?: boolean;
  subtasks?: readonly { id: number; title: string; status: string }[];
}

/** The state in words, the most telling first: finished, waiting on a person, in review, at work, assigned. */
function stateLine(task: StatusView): string {
  if (task.status === "done") return "resolved";
  if (task.status === "cancelled" || task.status === "archived") return task.status;
  if (task.needs_human) {
    return task.failed_runs ? `the agent could not finish (${task.failed_runs} failed runs): waiting for a person` : "waiting for a person (`/entourage retry` sends it back to an agent)";
  }
  if (task.waiting_for_human) return "waiting for your answer to the agent's question";
  if (task.pull_request && ["in_review", "in_approval", "merging"].includes(task.status)) return `pull request #${task.pull_request.number} opened, in review`;
  if (task.running) return "agent at work";
  if (task.status === "in_progress") return "in progress";
  if (task.status !== "todo") return task.status.replace("_", " ");
  return task.assignee ? "assigned, about to start" : "waiting for an agent";
}

/** The one status comment of a task: created with the task, edited as it moves; edits notify no one. */
export function trackedComment(task: StatusView): string {
  const who = task.assignee ? `assigned to ${task.assignee}` : "waiting for an agent";
  const lines = [`Tracked as Entourage task #${task.id} · priority ${task.priority} · ${who}`, "", `**Status:** ${stateLine(task)}`];
  if (task.pull_request) lines.push(`**Pull request:** [#${task.pull_request.number}](${task.pull_request.url})`);
  if (task.subtasks && task.subtasks.length > 0) {
    lines.push("**Sub-tasks:**", ...task.subtasks.map((t) => `- [${t.status === "done" ? "x" : " "}] #${t.id} ${t.title} (${t.status.replace("_", " ")})`));
  }
  lines.push("", commentMarker(task.id, "tracked"));
  return lines.join("\n");
}

export function resolvedComment(taskId: number, resolvedBy: readonly number[]): string {
  const ids = resolvedBy.length > 0 ? resolvedBy : [taskId];
  const noun = ids.length > 1 ? "tasks" : "task";
  return `Resolved in ${noun} ${formatTaskIds(ids)}\n\n${commentMarker(taskId, "resolved")}`;
}

/** Said once when a task's runs are spent: the agent could not finish, and how a person sends it back to work. */
export function needsHumanComment(taskId: number, failedRuns: number, lastReason: string | null): string {
  const last = lastReason ? ` The last one: ${lastReason}.` : "";
  return `The agent could not finish Entourage task #${taskId}: ${failedRuns} run${failedRuns === 1 ? "" : "s"} failed.${last}\n\n` +
    `It waits for a person. To let an agent try again, comment \`/entourage retry\` (write permission needed), or an admin calls \`POST /api/v1/tasks/${taskId}/retry\`.\n\n${commentMarker(taskId, "needs_human")}`;
}

/** An agent's question to the people of the issue; the next comment of one with write access answers it. */
export function questionComment(taskId: number, agent: string, question: string, ref: string): string {
  const quoted = question.trim().split("\n").map((line) => `> ${line}`).join("\n");
  return `**${agent}** (Entourage task #${taskId}) asks:\n\n${quoted}\n\n` +
    `Reply in a comment on this issue (write permission needed): the agent gets your answer and goes on.\n\n${commentMarker(taskId, "question", ref)}`;
}

/** The App's short answer to a command comment. */
export function replyComment(taskId: number, ref: string, text: string): string {
  return `${text}\n\n${commentMarker(taskId, "reply", ref)}`;
}
