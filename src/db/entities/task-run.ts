import { EntitySchema } from "typeorm";
import { timestamp, uuidPrimary } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const RUN_OUTCOMES = ["running", "pull_request", "moved", "failed", "timed_out", "lost", "cancelled"] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/** The outcomes after which the task is dispatched again, or waits for a person once its runs are spent. */
export const FAILED_OUTCOMES: readonly RunOutcome[] = ["failed", "timed_out", "lost"];

/** The most of a run's output that is kept: its last mebibyte. */
export const RUN_LOG_LIMIT = 1024 * 1024;

/** One attempt of an agent's runner at a task: from its claim to its pull request, failure, or loss. */
export interface TaskRun {
  id: string;
  org_id: string;
  task_id: number;
  agent_id: string;
  /** 1 for the task's first run. */
  number: number;
  outcome: RunOutcome;
  /** Why the run ended as it did, in words. */
  reason: string | null;
  exit_code: number | null;
  /** The last RUN_LOG_LIMIT characters of the command's output, secrets redacted. */
  log: string;
  /** Characters of output received in all, kept ones or not. */
  log_size: number;
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
}

export const TaskRunEntity = new EntitySchema<TaskRun>({
  name: "TaskRun",
  tableName: "task_runs",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    task_id: { type: "integer" },
    agent_id: { type: "uuid" },
    number: { type: "integer" },
    outcome: { type: "text", default: "running" },
    reason: { type: "text", nullable: true },
    exit_code: { type: "integer", nullable: true },
    log: { type: "text", default: "" },
    log_size: { type: "bigint", default: 0 },
    started_at: { ...timestamp, default: () => "now()" },
    heartbeat_at: { ...timestamp, default: () => "now()" },
    finished_at: { ...timestamp, nullable: true },
  },
  uniques: [{ columns: ["task_id", "number"] }],
  indices: [
    // One running run per task: a second claim of the same task cannot start another.
    { name: "task_runs_running_key", columns: ["task_id"], unique: true, where: "outcome = 'running'" },
    { name: "task_runs_heartbeat_idx", columns: ["heartbeat_at"], where: "outcome = 'running'" },
  ],
  checks: [oneOf("task_runs", "outcome", RUN_OUTCOMES)],
  foreignKeys: [references("org_id", "Organization"), references("task_id", "Task"), references("agent_id", "Agent")],
});
