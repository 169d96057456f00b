import type { Task } from "../db/entities/task.js";
import type { Queryable } from "../db/sql.js";
import { getTaskDetail, type TaskDetail } from "./task-detail.js";

/** The branch every run of a task works on: a later run continues where the last one stopped. */
export function runBranch(taskId: number): string {
  return `entourage/task-${taskId}`;
}

function refLine(ref: TaskDetail["subtasks"][number]): string {
  return `- #${ref.id} ${ref.title} (${ref.status})`;
}

/** The prompt file a run's command reads: the task, where it came from, its family, and how to report through MCP. */
export function renderRunPrompt(detail: TaskDetail, runNumber: number): string {
  const lines = [`# Entourage task #${detail.id}: ${detail.github?.title ?? detail.title}`, ""];
  lines.push(`Priority: ${detail.priority}. Run ${runNumber} of this task, on branch \`${runBranch(detail.id)}\`.`);
  if (detail.github) {
    const noun = detail.github.kind === "issue" ? "issue" : "pull request";
    lines.push(`GitHub ${noun}: ${detail.github.url} (${detail.github.repository}#${detail.github.number})`);
    if (detail.github.labels.length > 0) lines.push(`Labels: ${detail.github.labels.join(", ")}`);
  }
  lines.push("", "## Description", "", (detail.github?.body ?? detail.description) || "(none)");
  if (detail.parent) lines.push("", "## Parent task", "", refLine(detail.parent));
  if (detail.subtasks.length > 0) lines.push("", "## Sub-tasks", "", ...detail.subtasks.map(refLine));
  if (detail.dependencies.length > 0) lines.push("", "## Depends on", "", ...detail.dependencies.map(refLine));
  lines.push(...conversation(detail));
  lines.push(
    "",
    "## How to work",
    "",
    "- You are in a git checkout of the repository, on the task's branch. Make the change the task asks for and commit it;",
    "  the runner pushes the branch and opens the pull request when you exit 0. Uncommitted changes are committed for you.",
    "- The `entourage` MCP server (its configuration is in $ENTOURAGE_MCP_CONFIG) has the task tools:",
    `  get_task {"task_id": ${detail.id}} reads the task and its history; get_inbox reads messages people sent you;`,
    `  report_progress {"task_id": ${detail.id}, "message": "..."} tells people how it goes;`,
    `  create_subtasks splits the work; change_task_status moves the task (your own move stands: moving it to "todo" gives it back);`,
    `  ask_human {"task_id": ${detail.id}, "question": "..."} asks the people of the issue: then exit 0; your next run starts with their answer.`,
    "- Exit non-zero if you could not do the task: it is tried again, up to the app's limit of runs, then a person looks at it.",
  );
  return `${lines.join("\n")}\n`;
}

/** What people said on GitHub since the task began: the agent's questions with their answers, and review feedback. */
function conversation(detail: TaskDetail): string[] {
  const lines: string[] = [];
  const events = [...detail.events].sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
  const qa = events.filter((e) => e.type === "task.question_asked" || e.type === "task.answered");
  if (qa.length > 0) {
    lines.push("", "## Questions and answers", "");
    for (const e of qa) {
      const data = e.data as { question?: string; answer?: string };
      lines.push(e.type === "task.question_asked" ? `- You asked: ${data.question ?? ""}` : `- ${String(e.actor_id ?? "").replace(/^github:/, "@")} answered: ${data.answer ?? ""}`);
    }
  }
  const reviews = events.filter((e) => e.type === "task.changes_requested");
  if (reviews.length > 0) {
    lines.push("", "## Review feedback on your pull request", "", "Address it with new commits on the same branch: they update the same pull request.");
    for (const e of reviews) {
      const data = e.data as { body?: string; comments?: { path: string; line: number | null; body: string }[] };
      lines.push("", `${String(e.actor_id ?? "").replace(/^github:/, "@")} requested changes:`, data.body ?? "");
      for (const c of data.comments ?? []) lines.push(`- ${c.path}${c.line ? `:${c.line}` : ""}: ${c.body}`);
    }
  }
  return lines;
}

export async function runPrompt(db: Queryable, task: Task, runNumber: number): Promise<string> {
  return renderRunPrompt(await getTaskDetail(db, { orgId: task.org_id, teamId: task.team_id }, task.id), runNumber);
}
