import type { DataSource, EntityManager } from "typeorm";
import { sql, type Queryable } from "../db/sql.js";
import type { TaskDependency } from "../db/entities/task-dependency.js";
import { ValidationError } from "./errors.js";
import { getTask } from "./tasks.js";

/** Checks that every id is a task of the same team. */
export async function assertTasksInTeam(manager: EntityManager, teamId: string, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await sql<{ id: number }>(manager, "SELECT id FROM tasks WHERE team_id = $1 AND id = ANY($2::integer[])", [teamId, [...new Set(ids)]]);
  const known = new Set(found.rows.map((r) => r.id));
  const missing = [...new Set(ids)].filter((id) => !known.has(id));
  if (missing.length > 0) throw new ValidationError(`depends_on names tasks that are not in this team: ${missing.map((id) => `#${id}`).join(", ")}`, "invalid_dependency");
}

/**
 * Serializes dependency edits of one team, so two edits cannot close a cycle together. Take it
 * before any task row lock of the team: re-taking it later in the transaction is free.
 */
export async function lockTeamDependencies(manager: EntityManager, teamId: string): Promise<void> {
  await sql(manager, "SELECT pg_advisory_xact_lock(hashtext($1))", [`dependencies:${teamId}`]);
}

/**
 * Replaces the tasks `taskId` depends on. A dependency that would close a cycle
 * (the task reaching itself through depends_on) is refused with 400.
 */
export async function setDependencies(manager: EntityManager, teamId: string, taskId: number, dependsOn: readonly number[]): Promise<void> {
  const ids = [...new Set(dependsOn)];
  if (ids.includes(taskId)) throw new ValidationError(`task #${taskId} cannot depend on itself`, "dependency_cycle");
  await lockTeamDependencies(manager, teamId);
  await assertTasksInTeam(manager, teamId, ids);
  if (ids.length > 0) {
    const cycle = await sql<{ id: number }>(
      manager,
      `WITH RECURSIVE reach(id) AS (
         SELECT unnest($2::integer[])
         UNION
         SELECT d.depends_on_id FROM task_dependencies d JOIN reach r ON d.task_id = r.id WHERE d.task_id <> $1
       )
       SELECT id FROM reach WHERE id = $1 LIMIT 1`,
      [taskId, ids],
    );
    if (cycle.rows.length > 0) throw new ValidationError(`these dependencies would make a cycle through task #${taskId}`, "dependency_cycle");
  }
  await sql(manager, "DELETE FROM task_dependencies WHERE task_id = $1", [taskId]);
  if (ids.length > 0) {
    await sql(manager, "INSERT INTO task_dependencies (task_id, depends_on_id) SELECT $1, unnest($2::integer[])", [taskId, ids]);
  }
}

/** Replaces the dependencies of the organization's task, in one transaction; returns them as stored. */
export async function replaceTaskDependencies(db: DataSource, orgId: string, taskId: number, dependsOn: readonly number[]): Promise<number[]> {
  await db.transaction(async (manager) => {
    // No row lock here: setDependencies takes the team's dependency lock first, which keeps lock order.
    const task = await getTask(manager, orgId, taskId);
    await setDependencies(manager, task.team_id, task.id, dependsOn);
  });
  return (await dependenciesOf(db, [taskId])).get(taskId) ?? [];
}

export async function dependenciesOf(db: Queryable, taskIds: readonly number[]): Promise<Map<number, number[]>> {
  const result = await sql<TaskDependency>(
    db,
    "SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id = ANY($1::integer[]) ORDER BY depends_on_id",
    [[...taskIds]],
  );
  const map = new Map<number, number[]>();
  for (const row of result.rows) map.set(row.task_id, [...(map.get(row.task_id) ?? []), row.depends_on_id]);
  return map;
}
