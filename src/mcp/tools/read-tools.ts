import { z } from "zod";
import { TASK_STATUSES } from "../../db/entities/task.js";
import { teamAgentNamed } from "../../domain/agent-scope.js";
import { listAgents } from "../../domain/agents.js";
import { agentInbox } from "../../domain/inbox.js";
import { MAX_PAGE_SIZE } from "../../domain/pagination.js";
import { getTaskDetail } from "../../domain/task-detail.js";
import { listTeamTasks } from "../../domain/tasks.js";
import { taskLine } from "../results.js";
import { defineTool } from "../tool.js";

export const taskId = z.number().int().positive().max(2_147_483_647);

export const getInbox = defineTool({
  name: "get_inbox",
  description: "My unfinished tasks (dispatched first, then by priority) and my unread messages. Messages are marked read once returned here.",
  input: z.object({}).strict(),
  usage: "get_inbox takes no arguments: {}",
  readOnly: false,
  async run({ db, scope }) {
    const inbox = await agentInbox(db, scope);
    const lines = [
      `${inbox.agent.name} (${inbox.agent.status}): ${inbox.tasks.length} unfinished task(s), ${inbox.messages.length} unread message(s)`,
      ...inbox.tasks.map((t) => `${taskLine(t)}${t.dispatched_at ? " (dispatched)" : ""}${t.acknowledged_at ? " (acknowledged)" : ""}`),
      ...inbox.messages.map((m) => `message about #${m.task_id} from ${m.sender_type}${m.sender ? ` ${m.sender}` : ""}: ${m.body}`),
    ];
    return { data: inbox, text: lines.join("\n") };
  },
});

export const getTask = defineTool({
  name: "get_task",
  description: "A task of my team with its GitHub source (repository, number, URL, title, body, labels), parent, sub-tasks, dependencies and its last 50 events (newest first).",
  input: z.object({ task_id: taskId }).strict(),
  usage: "get_task takes {\"task_id\": <task number>}",
  readOnly: true,
  async run({ db, scope }, args) {
    const task = await getTaskDetail(db, scope, args.task_id);
    const lines = [
      taskLine(task),
      task.github ? `GitHub ${task.github.kind} ${task.github.repository}#${task.github.number}: ${task.github.url}` : "not from GitHub",
      task.parent ? `parent: ${taskLine({ ...task.parent, priority: task.priority })}` : "no parent",
      `sub-tasks: ${task.subtasks.map((s) => `#${s.id} [${s.status}]`).join(", ") || "none"}`,
      `depends on: ${task.dependencies.map((d) => `#${d.id} [${d.status}]`).join(", ") || "nothing"}`,
      `${task.events.length} recent event(s); latest: ${task.events[0]?.type ?? "none"}`,
    ];
    return { data: task, text: lines.join("\n") };
  },
});

export const listTasks = defineTool({
  name: "list_tasks",
  description: "My team's tasks, newest first. Filter by status, and by assignee (an agent's name or id).",
  input: z.object({
    status: z.enum(TASK_STATUSES).optional(),
    assignee: z.string().min(1).max(200).optional(),
    limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  }).strict(),
  usage: `list_tasks takes {"status"?: ${TASK_STATUSES.join("|")}, "assignee"?: agent name or id, "limit"?: 1-${MAX_PAGE_SIZE}}`,
  readOnly: true,
  async run({ db, scope }, args) {
    const assignee = args.assignee === undefined ? undefined : await teamAgentNamed(db, scope, args.assignee);
    const page = await listTeamTasks(db, scope.orgId, scope.teamId, { status: args.status, assignee_id: assignee?.id }, { limit: args.limit });
    return { data: page, text: [`${page.data.length} task(s)`, ...page.data.map(taskLine)].join("\n") };
  },
});

export const listTeamAgents = defineTool({
  name: "list_team_agents",
  description: "The agents of my team: name, role, status.",
  input: z.object({}).strict(),
  usage: "list_team_agents takes no arguments: {}",
  readOnly: true,
  async run({ db, scope }) {
    const page = await listAgents(db, scope.orgId, scope.teamId, {}, { limit: MAX_PAGE_SIZE });
    const agents = page.data.map(({ id, name, role, status }) => ({ id, name, role, status }));
    return { data: { data: agents }, text: agents.map((a) => `${a.name}: ${a.role}, ${a.status}`).join("\n") || "no agents" };
  },
});
