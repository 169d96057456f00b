import type { DataSource, EntityManager } from "typeorm";
import type { Agent } from "../db/entities/agent.js";
import type { Task, TaskPriority, TaskStatus } from "../db/entities/task.js";
import { SetList } from "../db/set-list.js";
import { sql, type Queryable } from "../db/sql.js";
import { NotFoundError, ValidationError } from "./errors.js";
import type { TaskDraft } from "./github-tasks.js";
import { filterAdder, pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";
import { recordTaskEvent, type Actor } from "./task-events.js";
import { giveTask, unassignTask } from "./assignment.js";
import { moveLockedTask } from "./task-moves.js";
import { assertTeamOfOrg } from "./teams.js";

/**
 * Creates the task for a GitHub issue or pull request once: a second call for the same
 * repository, number and kind in the organization returns the existing task.
 */
export async function createTaskFromSource(
  manager: EntityManager,
  input: { orgId: string; teamId: string; draft: TaskDraft; actor: Actor; webhookId?: string; autoAssign?: boolean },
): Promise<{ task: Task; created: boolean }> {
  const { orgId, teamId, draft } = input;
  const inserted = await sql<Task>(
    manager,
    `INSERT INTO tasks (org_id, team_id, title, description, priority, tags, source, webhook_id, auto_assign)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (org_id, (source->>'repository'), (source->>'kind'), ((source->>'number')::integer))
       WHERE source IS NOT NULL DO NOTHING
     RETURNING *`,
    [orgId, teamId, draft.title, draft.description, draft.priority, draft.tags, JSON.stringify(draft.source),
      input.webhookId ?? null, input.autoAssign ?? false],
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

/** The organization's tasks, newest first, of one team when team_id is given. */
export async function listTasks(db: Queryable, orgId: string, filters: TaskFilters & { team_id?: string }, page: PageRequest): Promise<Page<Task>> {
  const where = ["org_id = $1"];
  const params: unknown[] = [orgId];
  const add = filterAdder(where, params);
  if (filters.team_id) add((p) => `team_id = ${p}`, filters.team_id);
  if (filters.status) add((p) => `status = ${p}`, filters.status);
  if (filters.priority) add((p) => `priority = ${p}`, filters.priority);
  if (filters.tag) add((p) => `${p} = ANY(tags)`, filters.tag);
  if (filters.assignee_id) add((p) => `assignee_id = ${p}`, filters.assignee_id);
  if (filters.repository) add((p) => `source->>'repository' = ${p}`, filters.repository);
  const query = pageQuery({ select: "SELECT * FROM tasks", where, params }, page, "integer");
  const result = await sql<Task>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}

/** The team's tasks, newest first; 404 for a team that is not the organization's. */
export async function listTeamTasks(
  db: Queryable,
  orgId: string,
  teamId: string,
  filters: TaskFilters,
  page: PageRequest,
): Promise<Page<Task>> {
  await assertTeamOfOrg(db, orgId, teamId);
  return listTasks(db, orgId, { ...filters, team_id: teamId }, page);
}

/** The agent a task of the team may be assigned to; 400 for anyone else. */
export async function assigneeOf(db: Queryable, orgId: string, teamId: string, agentId: string): Promise<Pick<Agent, "id" | "name">> {
  const result = await sql<Pick<Agent, "id" | "name">>(db, "SELECT id, name FROM agents WHERE id = $1 AND team_id = $2 AND org_id = $3", [agentId, teamId, orgId]);
  if (!result.rows[0]) throw new ValidationError(`assignee_id ${agentId} is not an agent of this team`, "invalid_assignee");
  return result.rows[0];
}

async function assertParent(db: Queryable, orgId: string, teamId: string, parentId: number): Promise<void> {
  const result = await sql(db, "SELECT 1 FROM tasks WHERE id = $1 AND team_id = $2 AND org_id = $3", [parentId, teamId, orgId]);
  if (result.rows.length === 0) throw new ValidationError(`parent_id ${parentId} is not a task of this team`, "invalid_parent");
}

export interface NewTask {
  orgId: string;
  teamId: string;
  title: string;
  description?: string;
  priority?: TaskPriority;
  tags?: string[];
  assigneeId?: string;
  parentId?: number;
  actor: Actor;
}

/** Creates a task of the team with its `task.created` audit row, in one transaction. */
export async function createTask(db: DataSource, input: NewTask): Promise<Task> {
  return db.transaction(async (manager) => {
    await assertTeamOfOrg(manager, input.orgId, input.teamId);
    const agent = input.assigneeId === undefined ? undefined : await assigneeOf(manager, input.orgId, input.teamId, input.assigneeId);
    if (input.parentId !== undefined) await assertParent(manager, input.orgId, input.teamId, input.parentId);
    const inserted = await sql<Task>(
      manager,
      `INSERT INTO tasks (org_id, team_id, parent_id, title, description, priority, tags)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [input.orgId, input.teamId, input.parentId ?? null, input.title, input.description ?? "", input.priority ?? "medium",
        input.tags ?? []],
    );
    const task = inserted.rows[0]!;
    await recordTaskEvent(manager, task, {
      type: "task.created",
      to: task.status,
      actor: input.actor,
      data: { title: task.title, priority: task.priority, tags: task.tags, parent_id: task.parent_id },
    });
    return agent ? giveTask(manager, task, agent, input.actor) : task;
  });
}

/** What a task's PATCH may change; a status goes through the state machine like POST /status. */
export interface TaskChanges {
  title?: string;
  description?: string;
  priority?: TaskPriority;
  tags?: string[];
  /** null unassigns the task. */
  assignee_id?: string | null;
  status?: TaskStatus;
}

const EDITABLE_FIELDS = ["title", "description", "priority", "tags"] as const;

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Applies the changes under the task's row lock and records one `task.updated` row naming each
 * changed field with its old and new value; changes that change nothing record nothing.
 */
export async function updateTask(db: DataSource, orgId: string, id: number, changes: TaskChanges, actor: Actor): Promise<Task> {
  return db.transaction(async (manager) => {
    const locked = await sql<Task>(manager, "SELECT * FROM tasks WHERE id = $1 AND org_id = $2 FOR UPDATE", [id, orgId]);
    const task = locked.rows[0];
    if (!task) throw new NotFoundError(`task ${id}`);
    const agent = changes.assignee_id ? await assigneeOf(manager, orgId, task.team_id, changes.assignee_id) : undefined;
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    const params: unknown[] = [task.id];
    const set = new SetList(params);
    for (const field of EDITABLE_FIELDS) {
      const value = changes[field];
      if (value === undefined || sameValue(task[field], value)) continue;
      changed[field] = { from: task[field], to: value };
      set.set(field, value);
    }
    let saved = task;
    if (!set.isEmpty) {
      const updated = await sql<Task>(manager, `UPDATE tasks SET ${set.toSql()} WHERE id = $1 RETURNING *`, params);
      saved = updated.rows[0]!;
      await recordTaskEvent(manager, saved, { type: "task.updated", actor, data: { changes: changed } });
    }
    if (agent && agent.id !== saved.assignee_id) saved = await giveTask(manager, saved, agent, actor);
    if (changes.assignee_id === null) saved = await unassignTask(manager, saved, actor);
    if (changes.status !== undefined) saved = await moveLockedTask(manager, saved, changes.status, actor);
    return saved;
  });
}
