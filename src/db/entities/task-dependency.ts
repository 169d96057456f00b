import { EntitySchema } from "typeorm";
import { references } from "./constraints.js";

/** A task that cannot start before another is finished. */
export interface TaskDependency {
  task_id: number;
  depends_on_id: number;
}

export const TaskDependencyEntity = new EntitySchema<TaskDependency>({
  name: "TaskDependency",
  tableName: "task_dependencies",
  columns: {
    task_id: { type: "integer", primary: true },
    depends_on_id: { type: "integer", primary: true },
  },
  indices: [{ name: "task_dependencies_depends_on_idx", columns: ["depends_on_id"] }],
  checks: [{ name: "task_dependencies_check", expression: "task_id <> depends_on_id" }],
  foreignKeys: [references("task_id", "Task"), references("depends_on_id", "Task")],
});
