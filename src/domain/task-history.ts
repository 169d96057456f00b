import type { TaskEvent } from "../db/entities/task-event.js";
import { sql, type Queryable } from "../db/sql.js";
import { NotFoundError } from "./errors.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

/** The audit trail of one task of the organization, newest first. */
export async function listTaskEvents(db: Queryable, orgId: string, taskId: number, page: PageRequest): Promise<Page<TaskEvent>> {
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
  const result = await sql<TaskEvent>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}
