import type { EntityManager } from "typeorm";
import type { ActorType } from "../db/entities/task-event.js";
import type { Task, TaskPriority, TaskStatus } from "../db/entities/task.js";
import { sql, type Queryable } from "../db/sql.js";
import { NotFoundError } from "./errors.js";
import type { TaskDraft } from "./github-tasks.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

export interface Actor {
  type: ActorType;
  id: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: "system", id: null };

export async function recordTaskEvent(
  db: Queryable,
  task: Pick<Task, "id" | "org_id">,
  event: { type: string; from?: TaskStatus | null; to?: TaskStatus | null; actor: Actor; data?: Record<string, unknown> },
): Promise<void> {
  await sql(
    db,
    `INSERT INTO task_events (task_id, org_id, type, from_status, to_status, actor_type, actor_id, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [task.id, task.org_id, event.type, event.from ?? null, event.to ?? null, event.actor.type, event.actor.id,
      JSON.stringify(event.data ?? {})],
  );
}

/**
 * Creates the task for a GitHub issue or pull request once: a second call for the same
 * repository, number and kind in the organization returns the existing task.
 */
export async function createTaskFromSource(
  manager: EntityManager,
  input: { orgId: string; teamId: string; draft: TaskDraft; actor: Actor },
): Promise<{ task: Task; created: boolean }> {
  const { orgId, teamId, draft } = input;
  const inserted = await sql<Task>(
    manager,
    `INSERT INTO tasks (org_id, team_id, title, description, priority, tags, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (org_id, (source->>'repository'), (source->>'kind'), ((source->>'number')::integer))
       WHERE source IS NOT NULL DO NOTHING
     RETURNING *`,
    [orgId, teamId, draft.title, draft.description, draft.priority, draft.tags, JSON.stringify(draft.source)],
  );
  const task = inserted.rows[0];
  if (task) {
    await recordTaskEvent(manager, task, { type: "task.created", to: task.status, actor: input.actor, data: { source: draft.source } });
    return { task, created: true };
  }
  const existing = await sql<Task>(
    manager,
    `SELECT * FROM tasks WHERE org_id = $1 AND source->>'repository' = $2 AND source->>'kind' = $3
       AND (source->>'number')::integer = $4`,
    [orgId, draft.source.repository, draft.source.kind, draft.source.number],
  );
  return { task: existing.rows[0]!, created: false };
}

export async function getTask(db: Queryable, orgId: string, id: number): Promise<Task> {
  const result = await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1 AND org_id = $2", [id, orgId]);
  if (!result.rows[0]) throw new NotFoundError(`task ${id}`);
  return result.rows[0];
}

export interface TaskFilters {
  status?: TaskStatus;
  priority?: TaskPriority;
  tag?: string;
  assignee_id?: string;
  repository?: string;
}

export async function listTeamTasks(
  db: Queryable,
  orgId: string,
  teamId: string,
  filters: TaskFilters,
  page: PageRequest,
): Promise<Page<Task>> {
  const where = ["org_id = $1", "team_id = $2"];
  const params: unknown[] = [orgId, teamId];
  const add = (clause: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(clause(params.length));
  };
  if (filters.status) add((n) => `status = $${n}`, filters.status);
  if (filters.priority) add((n) => `priority = $${n}`, filters.priority);
  if (filters.tag) add((n) => `$${n} = ANY(tags)`, filters.tag);
  if (filters.assignee_id) add((n) => `assignee_id = $${n}`, filters.assignee_id);
  if (filters.repository) add((n) => `source->>'repository' = $${n}`, filters.repository);
  const query = pageQuery({ select: "SELECT * FROM tasks", where, params }, page, "integer");
  const result = await sql<Task>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}
