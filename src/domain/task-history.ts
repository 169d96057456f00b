import type { TaskEvent } from "../db/entities/task-event.js";
import { sql, type Queryable } from "../db/sql.js";
import { NotFoundError } from "./errors.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

/** A task event as the API shows it: the statuses it moved between are `from` and `to`. */
export type TaskEventView = Omit<TaskEvent, "org_id" | "from_status" | "to_status"> & { from: TaskEvent["from_status"]; to: TaskEvent["to_status"] };

/** The audit trail of one task of the organization, newest first. */
export async function listTaskEvents(db: Queryable, orgId: string, taskId: number, page: PageRequest): Promise<Page<TaskEventView>> {
  const task = await sql(db, "SELECT 1 FROM tasks WHERE id = $1 AND org_id = $2", [taskId, orgId]);
  if (task.rows.length === 0) throw new NotFoundError(`task ${taskId}`);
  const query = pageQuery(
    {
      select: "SELECT id, task_id, type, from_status AS \"from\", to_status AS \"to\", actor_type, actor_id, data, created_at FROM task_events",
      where: ["task_id = $1", "org_id = $2"],
      params: [taskId, orgId],
    },
    page,
    "uuid",
  );
  const result = await sql<TaskEventView>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}
