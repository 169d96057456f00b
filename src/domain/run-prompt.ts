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
  lines.push(
    "",
    "## How to work",
    "",
    "- You are in a git checkout of the repository, on the task's branch. Make the change the task asks for and commit it;",
    "  the runner pushes the branch and opens the pull request when you exit 0. Uncommitted changes are committed for you.",
    "- The `entourage` MCP server (its configuration is in $ENTOURAGE_MCP_CONFIG) has the task tools:",
    `  get_task {"task_id": ${detail.id}} reads the task and its history; get_inbox reads messages people sent you;`,
    `  report_progress {"task_id": ${detail.id}, "message": "..."} tells people how it goes;`,
    `  create_subtasks splits the work; change_task_status moves the task (your own move stands: moving it to "todo" gives it back).`,
    "- Exit non-zero if you could not do the task: it is tried again, up to the app's limit of runs, then a person looks at it.",
  );
  return `${lines.join("\n")}\n`;
}

export async function runPrompt(db: Queryable, task: Task, runNumber: number): Promise<string> {
  return renderRunPrompt(await getTaskDetail(db, { orgId: task.org_id, teamId: task.team_id }, task.id), runNumber);
}
