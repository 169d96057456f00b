import type { DataSource } from "typeorm";
import { ConflictError } from "./errors.js";
import { FINISHED } from "./task-states.js";
import { recordTaskEvent, type Actor } from "./task-events.js";
import { getTask } from "./tasks.js";

export interface ProgressReport {
  task_id: number;
  type: "task.progress";
  message: string;
  actor_type: Actor["type"];
  actor_id: string | null;
}

/** Records how work on an open task goes, as a task.progress event that outbound subscribers may ask for. */
export async function reportProgress(db: DataSource, orgId: string, taskId: number, message: string, actor: Actor): Promise<ProgressReport> {
  return db.transaction(async (manager) => {
    const task = await getTask(manager, orgId, taskId);
    if (FINISHED.includes(task.status)) {
      throw new ConflictError(`task #${task.id} is ${task.status}; progress is reported on open tasks only`, "task_finished");
    }
    await recordTaskEvent(manager, task, { type: "task.progress", actor, data: { message } });
    return { task_id: task.id, type: "task.progress", message, actor_type: actor.type, actor_id: actor.id };
  });
}
