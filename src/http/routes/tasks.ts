import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { TASK_PRIORITIES, TASK_STATUSES } from "../../db/entities/task.js";
import { createTask, getTask, listTeamTasks, updateTask } from "../../domain/tasks.js";
import type { OutboxRelay } from "../../queue/outbox-relay.js";
import { actorOf } from "../auth.js";
import { page, task } from "../responses.js";
import { pageQuery } from "../schemas.js";
import { taskDescription, taskId, taskIdText } from "../task-fields.js";

const TAGS = ["tasks"];

// Text is stored exactly as sent; Postgres text cannot hold NUL characters.
const withoutNul = (v: string) => !v.includes("\u0000");
const title = z.string().min(1).max(500)
  .refine((v) => v.trim().length > 0, "must not be blank")
  .refine(withoutNul, "must not contain NUL characters");
const tags = z.array(z.string().min(1).max(100).refine(withoutNul, "must not contain NUL characters")).max(50);

const taskFilters = pageQuery.extend({
  status: z.enum(TASK_STATUSES).optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  tag: z.string().min(1).optional(),
  assignee_id: z.uuid().optional(),
  repository: z.string().min(1).optional(),
});

const teamParams = z.object({ team_id: z.uuid() });
const taskParams = z.object({ id: taskIdText });

const createBody = z.strictObject({
  title,
  description: taskDescription.optional(),
  priority: z.enum(TASK_PRIORITIES).default("medium"),
  tags: tags.optional(),
  assignee_id: z.uuid().optional(),
  parent_id: taskId.optional(),
});

const updateBody = z
  .strictObject({
    title: title.optional(),
    description: taskDescription.optional(),
    priority: z.enum(TASK_PRIORITIES).optional(),
    tags: tags.optional(),
    assignee_id: z.uuid().nullable().optional(),
    status: z.enum(TASK_STATUSES).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "name at least one of title, description, priority, tags, assignee_id, status");

export async function taskRoutes(scope: FastifyInstance, opts: { db: DataSource; relay: OutboxRelay }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get("/api/v1/teams/:team_id/tasks", {
    schema: {
      tags: TAGS,
      summary: "List a team's tasks, newest first; filter by status, priority, tag, assignee_id, repository",
      params: teamParams,
      querystring: taskFilters,
      response: { 200: page(task) },
    },
  }, async (request) => {
    const { limit, cursor, ...filters } = request.query;
    return listTeamTasks(db, request.principal.orgId, request.params.team_id, filters, { limit, cursor });
  });

  app.post("/api/v1/teams/:team_id/tasks", {
    schema: { tags: TAGS, summary: "Create a task in the team (status todo)", params: teamParams, body: createBody, response: { 201: task } },
  }, async (request, reply) => {
    const body = request.body;
    const task = await createTask(db, {
      orgId: request.principal.orgId,
      teamId: request.params.team_id,
      title: body.title,
      description: body.description,
      priority: body.priority,
      tags: body.tags,
      assigneeId: body.assignee_id,
      parentId: body.parent_id,
      actor: actorOf(request.principal),
    });
    await opts.relay.flushQuietly();
    return reply.status(201).send(task);
  });

  app.get("/api/v1/tasks/:id", {
    schema: { tags: TAGS, summary: "Show a task", params: taskParams, response: { 200: task } },
  }, async (request) => getTask(db, request.principal.orgId, request.params.id));

  app.patch("/api/v1/tasks/:id", {
    schema: {
      tags: TAGS,
      summary: "Change a task's title, description, priority, tags, assignee or status (through the state machine)",
      params: taskParams,
      body: updateBody,
      response: { 200: task },
    },
  }, async (request) => {
    const task = await updateTask(db, request.principal.orgId, request.params.id, request.body, actorOf(request.principal));
    await opts.relay.flushQuietly();
    return task;
  });
}
