import type { DataSource } from "typeorm";
import type { Task, TaskPriority } from "../db/entities/task.js";
import { sql } from "../db/sql.js";
import { lockTeamDependencies, setDependencies } from "./dependencies.js";
import { ConflictError, ValidationError } from "./errors.js";
import { assigneeOf, getTask } from "./tasks.js";
import { giveTask } from "./assignment.js";
import { FINISHED } from "./task-states.js";
import { lockTask } from "./task-moves.js";
import { recordTaskEvent, type Actor } from "./task-events.js";

export interface SubtaskInput {
  title: string;
  description?: string;
  priority?: TaskPriority;
  assignee_id?: string;
  /** Ids of existing tasks of the team. */
  depends_on?: number[];
  /** Positions of earlier items of the same batch. */
  depends_on_indices?: number[];
}

export type TaskWithDependencies = Task & { depends_on: number[] };

/** Creates sub-tasks of a task in one transaction: all of them, with their dependencies, or none. */
export async function createSubtasks(db: DataSource, orgId: string, parentId: number, inputs: readonly SubtaskInput[], actor: Actor): Promise<TaskWithDependencies[]> {
  return db.transaction(async (manager) => {
    await lockTeamDependencies(manager, (await getTask(manager, orgId, parentId)).team_id);
    const parent = await lockTask(manager, orgId, parentId);
    if (FINISHED.includes(parent.status)) throw new ConflictError(`task #${parent.id} is ${parent.status}; it takes no new sub-tasks`, "parent_finished");
    const created: TaskWithDependencies[] = [];
    for (const [index, input] of inputs.entries()) {
      const badIndex = (input.depends_on_indices ?? []).find((i) => i < 0 || i >= index);
      if (badIndex !== undefined) {
        throw new ValidationError(`tasks[${index}].depends_on_indices: ${badIndex} is not an earlier item of the batch`, "invalid_dependency");
      }
      const agent = input.assignee_id ? await assigneeOf(manager, orgId, parent.team_id, input.assignee_id) : undefined;
      let task = (await sql<Task>(
        manager,
        `INSERT INTO tasks (org_id, team_id, parent_id, title, description, priority)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [orgId, parent.team_id, parent.id, input.title, input.description ?? "", input.priority ?? parent.priority],
      )).rows[0]!;
      await recordTaskEvent(manager, task, { type: "task.created", to: task.status, actor, data: { parent_id: parent.id } });
      const dependsOn = [...(input.depends_on ?? []), ...(input.depends_on_indices ?? []).map((i) => created[i]!.id)];
      await setDependencies(manager, parent.team_id, task.id, dependsOn);
      if (agent) task = await giveTask(manager, task, agent, actor);
      created.push({ ...task, depends_on: [...new Set(dependsOn)].sort((a, b) => a - b) });
    }
    return created;
  });
}
