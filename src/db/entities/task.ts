import { EntitySchema } from "typeorm";
import { createdAt, timestamp, updatedAt } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const TASK_PRIORITIES = ["critical", "high", "medium", "low"] as const;
export const TASK_STATUSES = [
  "todo", "in_progress", "in_review", "in_approval", "merging", "done", "cancelled", "archived",
] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Where a task came from, when it came from a webhook. */
export interface TaskSource {
  provider: "github" | "github_app";
  /** owner/name */
  repository: string;
  number: number;
  kind: "issue" | "pull_request";
  url: string;
  installation_id: number | null;
  /** The repository's clone URL and default branch from the signed payload; absent on tasks made before they were kept. */
  clone_url?: string;
  default_branch?: string;
}

/** The pull request an agent's run opened for the task. */
export interface TaskPullRequest {
  number: number;
  url: string;
  branch: string;
}

export interface Task {
  id: number;
  org_id: string;
  team_id: string;
  parent_id: number | null;
  title: string;
  description: string;
  priority: TaskPriority;
  status: TaskStatus;
  tags: string[];
  assignee_id: string | null;
  source: TaskSource | null;
  /** The webhook whose delivery made the task, if one did. */
  webhook_id: string | null;
  /** Assign to an idle agent of the team when one is free. */
  auto_assign: boolean;
  /** Counts assignments, so that a stale dispatch or timeout job recognises itself. */
  dispatch_round: number;
  dispatched_at: Date | null;
  acknowledged_at: Date | null;
  /** The pull request a run opened, once one did. */
  pull_request: TaskPullRequest | null;
  /** Runs that failed since the task was made or last retried; at AGENT_MAX_RUNS it waits for a person. */
  failed_runs: number;
  /** Its runs are spent: no agent gets it until a person retries it. */
  needs_human: boolean;
  /** The agent asked a question on the issue; a person's answer clears it. */
  waiting_for_human: boolean;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

export const TaskEntity = new EntitySchema<Task>({
  name: "Task",
  tableName: "tasks",
  columns: {
    id: { type: "integer", primary: true, generated: "increment" },
    org_id: { type: "uuid" },
    team_id: { type: "uuid" },
    parent_id: { type: "integer", nullable: true },
    title: { type: "text" },
    description: { type: "text", default: "" },
    priority: { type: "text", default: "medium" },
    status: { type: "text", default: "todo" },
    tags: { type: "text", array: true, default: [] },
    assignee_id: { type: "uuid", nullable: true },
    source: { type: "jsonb", nullable: true },
    webhook_id: { type: "uuid", nullable: true },
    auto_assign: { type: "boolean", default: false },
    dispatch_round: { type: "integer", default: 0 },
    dispatched_at: { ...timestamp, nullable: true },
    acknowledged_at: { ...timestamp, nullable: true },
    pull_request: { type: "jsonb", nullable: true },
    failed_runs: { type: "integer", default: 0 },
    needs_human: { type: "boolean", default: false },
    waiting_for_human: { type: "boolean", default: false },
    created_at: createdAt,
    updated_at: updatedAt,
    completed_at: { ...timestamp, nullable: true },
  },
  indices: [
    // One task per GitHub issue or pull request within an organization: unique on (org_id, source's repository,
    // kind and number), expressions TypeORM cannot describe; the initial migration made it.
    { name: "tasks_source_key", columns: ["org_id", "source"], unique: true, where: "source IS NOT NULL", synchronize: false },
    { name: "tasks_team_created_idx", columns: ["team_id", "created_at", "id"] },
    { name: "tasks_parent_idx", columns: ["parent_id"], where: "parent_id IS NOT NULL" },
    { name: "tasks_waiting_idx", columns: ["team_id", "created_at"], where: "status = 'todo' AND assignee_id IS NULL AND auto_assign" },
    { name: "tasks_assignee_idx", columns: ["assignee_id"], where: "assignee_id IS NOT NULL" },
    // The console's board: one column per status across the organization's teams.
    { name: "tasks_org_status_idx", columns: ["org_id", "status", "created_at", "id"] },
  ],
  checks: [oneOf("tasks", "priority", TASK_PRIORITIES), oneOf("tasks", "status", TASK_STATUSES)],
  foreignKeys: [
    references("org_id", "Organization"), references("team_id", "Team"), references("parent_id", "Task"),
    references("assignee_id", "Agent"), references("webhook_id", "Webhook"),
  ],
});
