import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { TASK_PRIORITIES, TASK_STATUSES } from "../../db/entities/task.js";
import { replaceTaskDependencies } from "../../domain/dependencies.js";
import { acknowledgeTask } from "../../domain/dispatch.js";
import { createSubtasks } from "../../domain/subtasks.js";
import { listTaskEvents } from "../../domain/task-history.js";
import { moveTask } from "../../domain/task-moves.js";
import type { OutboxRelay } from "../../queue/outbox-relay.js";
import { actorOf } from "../auth.js";
import { page, subtask, task, taskDependencies, taskEvent } from "../responses.js";
import { pageQuery } from "../schemas.js";
import { taskDescription, taskId, taskIdText } from "../task-fields.js";

const taskParams = z.object({ id: taskIdText });

const newSubtask = z.object({
  title: z.string().trim().min(1).max(500),
  description: taskDescription.optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  assignee_id: z.uuid().optional(),
  depends_on: z.array(taskId).max(100).optional(),
  depends_on_indices: z.array(z.number().int().min(0)).max(100).optional(),
});

const subtasksBody = z.union([z.object({ tasks: z.array(newSubtask).min(1).max(100) }).strict(), newSubtask]);

const taskEvents = page(taskEvent);

// A batch is answered as a batch, one sub-task as itself.
const subtaskAnswer = z.union([subtask, z.object({ data: z.array(subtask) })]);

/** Status moves, sub-tasks, dependencies, acknowledgement and the audit trail of a task. */
export async function taskWorkflowRoutes(scope: FastifyInstance, opts: { db: DataSource; relay: OutboxRelay }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db, relay } = opts;

  app.post("/api/v1/tasks/:id/status", {
    schema: { tags: ["tasks"], summary: "Move a task through its states", params: taskParams, body: z.object({ status: z.enum(TASK_STATUSES) }), response: { 200: task } },
  }, async (request) => {
    const task = await moveTask(db, request.principal.orgId, request.params.id, request.body.status, actorOf(request.principal));
    await relay.flushQuietly();
    return task;
  });

  app.post("/api/v1/tasks/:id/acknowledge", {
    schema: { tags: ["tasks"], summary: "The assigned agent confirms it has started", params: taskParams, response: { 200: task } },
  }, async (request) => acknowledgeTask(db, request.principal.orgId, request.params.id, actorOf(request.principal)));

  app.post("/api/v1/tasks/:id/subtasks", {
    schema: { tags: ["tasks"], summary: "Create one sub-task, or a batch of them ({\"tasks\": [...]})", params: taskParams, body: subtasksBody, response: { 201: subtaskAnswer } },
  }, async (request, reply) => {
    const batch = "tasks" in request.body;
    const inputs = "tasks" in request.body ? request.body.tasks : [request.body];
    const created = await createSubtasks(db, request.principal.orgId, request.params.id, inputs, actorOf(request.principal));
    await relay.flushQuietly();
    return reply.status(201).send(batch ? { data: created } : created[0]!);
  });

  app.put("/api/v1/tasks/:id/dependencies", {
    schema: { tags: ["tasks"], summary: "Replace the tasks this task depends on", params: taskParams, body: z.object({ depends_on: z.array(taskId).max(100) }), response: { 200: taskDependencies } },
  }, async (request) => {
    const dependsOn = await replaceTaskDependencies(db, request.principal.orgId, request.params.id, request.body.depends_on);
    return { task_id: request.params.id, depends_on: dependsOn };
  });

  app.get("/api/v1/tasks/:id/events", {
    schema: { tags: ["tasks"], summary: "The audit trail of a task, newest first", params: taskParams, querystring: pageQuery, response: { 200: taskEvents } },
  }, async (request) => listTaskEvents(db, request.principal.orgId, request.params.id, request.query));
}
