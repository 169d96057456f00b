import type { Task, TaskStatus } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import { taskInScope, type AgentScope } from "./agent-scope.js";
import type { GitHubTaskSource } from "./intake.js";
import { listTaskEvents, type TaskEventView } from "./task-history.js";

export const TASK_DETAIL_EVENTS = 50;

/** The GitHub issue or pull request a task came from, as the task holds it since the last sync. */
export interface GitHubItemView {
  repository: string;
  number: number;
  kind: "issue" | "pull_request";
  url: string;
  title: string;
  body: string;
  labels: string[];
}

interface TaskRef {
  id: number;
  title: string;
  status: TaskStatus;
  assignee_id: string | null;
}

export type TaskDetail = Task & {
  github: GitHubItemView | null;
  parent: TaskRef | null;
  subtasks: TaskRef[];
  dependencies: TaskRef[];
  events: TaskEventView[];
};

/**
 * The item's title, body and labels as a synced task carries them: the title after its "[GitHub]" mark,
 * the description between its "GitHub Issue #n" heading and the item's URL, the tags that came from labels.
 */
export function githubItemOf(task: Pick<Task, "title" | "description" | "tags" | "source">): GitHubItemView | null {
  const source = task.source as GitHubTaskSource | null;
  if (!source) return null;
  const heading = `${source.kind === "pull_request" ? "GitHub PR" : "GitHub Issue"} #${source.number}`;
  let body = task.description;
  if (body.startsWith(heading)) body = body.slice(heading.length);
  if (body.endsWith(source.url)) body = body.slice(0, -source.url.length);
  return {
    repository: source.repository,
    number: source.number,
    kind: source.kind,
    url: source.url,
    title: task.title.replace(/^\[GitHub(?: PR)?\] /, ""),
    body: body.trim(),
    labels: source.label_tags ?? task.tags.filter((tag) => tag !== "github" && tag !== source.kind),
  };
}

async function refs(db: Queryable, query: string, params: unknown[]): Promise<TaskRef[]> {
  return (await sql<TaskRef>(db, query, params)).rows;
}

/** A task of the agent's team with everything needed to work on it: its GitHub item, family, dependencies and recent history. */
export async function getTaskDetail(db: Queryable, scope: Pick<AgentScope, "orgId" | "teamId">, taskId: number): Promise<TaskDetail> {
  const task = await taskInScope(db, scope, taskId);
  const columns = "t.id, t.title, t.status, t.assignee_id";
  const [parent] = task.parent_id === null ? [] : await refs(db, `SELECT ${columns} FROM tasks t WHERE t.id = $1`, [task.parent_id]);
  const subtasks = await refs(db, `SELECT ${columns} FROM tasks t WHERE t.parent_id = $1 ORDER BY t.id`, [task.id]);
  const dependsOn = await refs(db, `SELECT ${columns} FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id WHERE d.task_id = $1 ORDER BY t.id`, [task.id]);
  const events = await listTaskEvents(db, scope.orgId, task.id, { limit: TASK_DETAIL_EVENTS });
  return { ...task, github: githubItemOf(task), parent: parent ?? null, subtasks, dependencies: dependsOn, events: events.data };
}
