import { z } from "zod";
import { TASK_PRIORITIES, TASK_STATUSES } from "../../db/entities/task.js";
import { taskInScope, teamAgentNamed, type AgentScope } from "../../domain/agent-scope.js";
import { askHuman } from "../../domain/conversation.js";
import { acknowledgeTask } from "../../domain/dispatch.js";
import { createSubtasks, type SubtaskInput } from "../../domain/subtasks.js";
import { moveTask } from "../../domain/task-moves.js";
import { reportProgress } from "../../domain/task-progress.js";
import type { DataSource } from "typeorm";
import { taskDescription } from "../../http/task-fields.js";
import { taskLine } from "../results.js";
import { defineTool } from "../tool.js";
import { taskId } from "./read-tools.js";

const text = (max: number) => z.string().trim().min(1).max(max).refine((v) => !v.includes("\u0000"), "must not contain NUL characters");

export const acknowledgeTaskTool = defineTool({
  name: "acknowledge_task",
  description: "Confirm that I have started on a task assigned to me. Calling it again changes nothing.",
  input: z.object({ task_id: taskId }).strict(),
  usage: "acknowledge_task takes {\"task_id\": <task number>}",
  readOnly: false,
  async run({ db, scope, actor }, args) {
    await taskInScope(db, scope, args.task_id);
    const task = await acknowledgeTask(db, scope.orgId, args.task_id, actor);
    return { data: task, text: `acknowledged ${taskLine(task)}` };
  },
});

export const changeTaskStatus = defineTool({
  name: "change_task_status",
  description: "Move a task through its states (todo → in_progress → in_review → in_approval → merging → done; cancelled; archived). The note is kept on the event.",
  input: z.object({ task_id: taskId, status: z.enum(TASK_STATUSES), note: text(2000).optional() }).strict(),
  usage: `change_task_status takes {"task_id": <task number>, "status": ${TASK_STATUSES.join("|")}, "note"?: text}`,
  readOnly: false,
  async run({ db, relay, scope, actor }, args) {
    const before = await taskInScope(db, scope, args.task_id);
    const task = await moveTask(db, scope.orgId, args.task_id, args.status, actor, { note: args.note });
    await relay.flushQuietly();
    const moved = before.status === task.status ? `${task.status} already` : `${before.status} → ${task.status}`;
    return { data: task, text: `${moved}: ${taskLine(task)}` };
  },
});

export const reportProgressTool = defineTool({
  name: "report_progress",
  description: "Tell how work on a task goes; recorded as a task.progress event, which outbound webhook subscribers may ask for.",
  input: z.object({ task_id: taskId, message: text(4000) }).strict(),
  usage: "report_progress takes {\"task_id\": <task number>, \"message\": text}",
  readOnly: false,
  async run({ db, relay, scope, actor }, args) {
    await taskInScope(db, scope, args.task_id);
    const report = await reportProgress(db, scope.orgId, args.task_id, args.message, actor);
    await relay.flushQuietly();
    return { data: report, text: `progress recorded on #${report.task_id}` };
  },
});

export const askHumanTool = defineTool({
  name: "ask_human",
  description: "Ask the people of my task's GitHub issue a question (one comment on the issue). The task waits for the answer: " +
    "the next comment of a person with write access; it arrives in get_inbox, and a runner starts my next run with it. Then stop and exit 0.",
  input: z.object({ task_id: taskId, question: text(4000) }).strict(),
  usage: "ask_human takes {\"task_id\": <task number>, \"question\": text}",
  readOnly: false,
  async run({ db, relay, scope, actor }, args) {
    const task = await askHuman(db, scope, args.task_id, args.question, actor);
    await relay.flushQuietly();
    return { data: task, text: `asked on ${task.source?.url ?? `task #${task.id}`}; the task waits for the answer` };
  },
});

const dependency = z.union([z.number().int().min(0).max(2_147_483_647), z.string().regex(/^#?\d{1,10}$/, "a task id such as \"#601\"")]);

const subtask = z.object({
  title: text(500),
  description: taskDescription.optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  assignee: z.string().min(1).max(200).optional(),
  depends_on: z.array(dependency).max(100).optional(),
}).strict();

type SubtaskArgs = z.infer<typeof subtask>;

/** An integer below the item's own position is an earlier item of the call; a larger one, or "#601", is a task id. */
export function splitDependencies(position: number, items: readonly (number | string)[]): Pick<SubtaskInput, "depends_on" | "depends_on_indices"> {
  const ids: number[] = [];
  const indices: number[] = [];
  for (const item of items) {
    if (typeof item === "string") ids.push(Number(item.replace("#", "")));
    else if (item < position) indices.push(item);
    else ids.push(item);
  }
  return { depends_on: ids, depends_on_indices: indices };
}

async function subtaskInputs(db: DataSource, scope: AgentScope, items: readonly SubtaskArgs[]): Promise<SubtaskInput[]> {
  const inputs: SubtaskInput[] = [];
  for (const [position, item] of items.entries()) {
    const assignee = item.assignee === undefined ? undefined : await teamAgentNamed(db, scope, item.assignee);
    inputs.push({
      title: item.title,
      description: item.description,
      priority: item.priority,
      assignee_id: assignee?.id,
      ...splitDependencies(position, item.depends_on ?? []),
    });
  }
  return inputs;
}

export const createSubtasksTool = defineTool({
  name: "create_subtasks",
  description: "Split a task into sub-tasks, all in one transaction (all or none). assignee: an agent of my team, by name or id. " +
    "depends_on items: the 0-based index of an earlier item of this call (an integer below the item's own position), or the id of an existing task of my team (\"#601\", or an integer at least the item's position).",
  input: z.object({ task_id: taskId, tasks: z.array(subtask).min(1).max(50) }).strict(),
  usage: "create_subtasks takes {\"task_id\": <task number>, \"tasks\": [{\"title\", \"description\"?, \"priority\"?: critical|high|medium|low, \"assignee\"?: agent name or id, \"depends_on\"?: [earlier index or \"#task id\"]}] (1-50 items)",
  readOnly: false,
  async run({ db, relay, scope, actor }, args) {
    await taskInScope(db, scope, args.task_id);
    const created = await createSubtasks(db, scope.orgId, args.task_id, await subtaskInputs(db, scope, args.tasks), actor);
    await relay.flushQuietly();
    const lines = created.map((t) => `${taskLine(t)}${t.depends_on.length ? ` (depends on ${t.depends_on.map((d) => `#${d}`).join(", ")})` : ""}`);
    return { data: { data: created }, text: [`created ${created.length} sub-task(s) of #${args.task_id}`, ...lines].join("\n") };
  },
});
