import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { TASK_PRIORITIES, TASK_STATUSES } from "../../db/entities/task.js";
import { NotFoundError } from "../../domain/errors.js";
import { getTask, listTeamTasks } from "../../domain/tasks.js";
import { sql } from "../../db/sql.js";
import { pageQuery } from "../schemas.js";

const taskFilters = pageQuery.extend({
  status: z.enum(TASK_STATUSES).optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  tag: z.string().min(1).optional(),
  assignee_id: z.uuid().optional(),
  repository: z.string().min(1).optional(),
});

export async function taskRoutes(scope: FastifyInstance, opts: { db: DataSource }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get("/api/v1/teams/:team_id/tasks", {
    schema: { params: z.object({ team_id: z.uuid() }), querystring: taskFilters },
  }, async (request) => {
    const { orgId } = request.principal;
    const team = await sql(db, "SELECT 1 FROM teams WHERE id = $1 AND org_id = $2", [request.params.team_id, orgId]);
    if (team.rows.length === 0) throw new NotFoundError(`team ${request.params.team_id}`);
    const { limit, cursor, ...filters } = request.query;
    return listTeamTasks(db, orgId, request.params.team_id, filters, { limit, cursor });
  });

  app.get("/api/v1/tasks/:id", {
    schema: { params: z.object({ id: z.coerce.number().int().positive().max(2_147_483_647) }) },
  }, async (request) => getTask(db, request.principal.orgId, request.params.id));
}
