import type { DataSource, EntityManager } from "typeorm";
import type { Task, TaskPullRequest } from "../db/entities/task.js";
import { FAILED_OUTCOMES, RUN_LOG_LIMIT, type RunOutcome, type TaskRun } from "../db/entities/task-run.js";
import { sql, type Queryable } from "../db/sql.js";
import { unassignTask } from "./assignment.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { scheduleJob } from "./outbox.js";
import { PRIORITY_ORDER } from "./priorities.js";
import { redactSecrets } from "./redact.js";
import { FINISHED } from "./task-states.js";
import { lockTask, moveLockedTask } from "./task-moves.js";
import { recordTaskEvent, SYSTEM_ACTOR, type Actor } from "./task-events.js";

/** The app's settings for agent runs (AGENT_HEARTBEAT_TIMEOUT_S, AGENT_MAX_RUNS). */
export interface RunSettings {
  heartbeatTimeoutMs: number;
  maxRuns: number;
}

/** What a runner reports when its command ends without a pull request. */
export interface RunReport {
  exit_code: number | null;
  timed_out?: boolean;
  cancelled?: boolean;
  /** A failure of the runner itself: the clone, the push, a refused clone URL. */
  error?: string;
  log?: string;
}

/** A run as the API shows it: without its log in lists. */
export type RunView = Omit<TaskRun, "log"> & { log?: string };

const RUN_COLUMNS = "id, org_id, task_id, agent_id, number, outcome, reason, exit_code, log_size, started_at, heartbeat_at, finished_at";

function agentActor(agentId: string): Actor {
  return { type: "agent", id: agentId };
}

/** A task of agent $2 in organization $1 that a runner may start a run of: dispatched, open for work, waiting on no person. */
const CLAIMABLE = `org_id = $1 AND assignee_id = $2 AND dispatched_at IS NOT NULL AND status IN ('todo', 'in_progress')
  AND NOT needs_human AND NOT waiting_for_human`;

/** The task dispatched to the agent that a runner should work on now, locked; the most urgent first. */
async function lockDispatchedTask(manager: EntityManager, orgId: string, agentId: string): Promise<Task | undefined> {
  const result = await sql<Task>(
    manager,
    `SELECT * FROM tasks
      WHERE ${CLAIMABLE}
      ORDER BY array_position($3::text[], priority), dispatched_at, id
      LIMIT 1
      FOR UPDATE`,
    [orgId, agentId, PRIORITY_ORDER],
  );
  return result.rows[0];
}

async function runningRunOf(manager: EntityManager, taskId: number): Promise<TaskRun | undefined> {
  return (await sql<TaskRun>(manager, "SELECT * FROM task_runs WHERE task_id = $1 AND outcome = 'running' FOR UPDATE", [taskId])).rows[0];
}

/** Ends a running run, appending the last of its output, and records why on the task. */
async function endRun(manager: EntityManager, task: Task, run: TaskRun, outcome: RunOutcome, reason: string, report: Partial<RunReport> = {}): Promise<TaskRun> {
  const tail = redactSecrets(report.log ?? "");
  const ended = (await sql<TaskRun>(
    manager,
    `UPDATE task_runs SET outcome = $2, reason = $3, exit_code = $4, finished_at = now(),
            log = right(log || $5::text, $6), log_size = log_size + length($5::text)
      WHERE id = $1 RETURNING *`,
    [run.id, outcome, reason, report.exit_code ?? null, tail, RUN_LOG_LIMIT],
  )).rows[0]!;
  await recordTaskEvent(manager, task, {
    type: "task.run_finished", actor: SYSTEM_ACTOR,
    data: { run_id: run.id, number: run.number, agent_id: run.agent_id, outcome, reason, exit_code: ended.exit_code },
  });
  return ended;
}

/**
 * After a failed run the task goes back to todo without its agent: handed out again (to the same agent
 * or another idle one) while runs remain, else flagged needs_human with one comment on its issue.
 */
async function afterFailedRun(manager: EntityManager, task: Task, run: TaskRun, settings: RunSettings): Promise<Task> {
  const failedRuns = task.failed_runs + 1;
  const spent = failedRuns >= settings.maxRuns;
  let current = (await sql<Task>(
    manager,
    "UPDATE tasks SET failed_runs = $2, needs_human = $3, auto_assign = NOT $3, updated_at = now() WHERE id = $1 RETURNING *",
    [task.id, failedRuns, spent],
  )).rows[0]!;
  if (current.status === "in_progress") {
    current = await moveLockedTask(manager, current, "todo", SYSTEM_ACTOR, { system: true, note: `run ${run.number} ${run.outcome}` });
  }
  current = await unassignTask(manager, current, SYSTEM_ACTOR);
  if (!spent) {
    await scheduleJob(manager, "assign", { teamId: current.team_id });
    return current;
  }
  await recordTaskEvent(manager, current, { type: "task.needs_human", actor: SYSTEM_ACTOR, data: { failed_runs: failedRuns, last_run_id: run.id } });
  if (current.source) {
    await scheduleJob(manager, "github-comment", { taskId: current.id, kind: "needs_human" }, { jobId: `comment-${current.id}-needs-human-${current.dispatch_round}` });
  }
  return current;
}

/**
 * Starts a run of the task dispatched to the agent, if there is one: acknowledges it, moves it to
 * in_progress and records the run. A run of the task still `running` means the agent's runner was
 * cut off and started again: that run is lost, and counts as a failed one.
 */
export async function claimRun(db: DataSource, orgId: string, agentId: string, settings: RunSettings): Promise<{ run: TaskRun; task: Task } | undefined> {
  return db.transaction(async (manager) => {
    let task = await lockDispatchedTask(manager, orgId, agentId);
    if (!task) return undefined;
    const earlier = await runningRunOf(manager, task.id);
    if (earlier) {
      const lost = await endRun(manager, task, earlier, "lost", "the agent's runner claimed the task again: its earlier run was cut off");
      if (task.failed_runs + 1 >= settings.maxRuns) {
        await afterFailedRun(manager, task, lost, settings);
        return undefined;
      }
      task = (await sql<Task>(manager, "UPDATE tasks SET failed_runs = failed_runs + 1, updated_at = now() WHERE id = $1 RETURNING *", [task.id])).rows[0]!;
    }
    const run = (await sql<TaskRun>(
      manager,
      `INSERT INTO task_runs (org_id, task_id, agent_id, number)
       VALUES ($1, $2, $3, (SELECT COALESCE(max(number), 0) + 1 FROM task_runs WHERE task_id = $2)) RETURNING *`,
      [orgId, task.id, agentId],
    )).rows[0]!;
    if (!task.acknowledged_at) {
      task = (await sql<Task>(manager, "UPDATE tasks SET acknowledged_at = now(), updated_at = now() WHERE id = $1 RETURNING *", [task.id])).rows[0]!;
      await recordTaskEvent(manager, task, { type: "task.acknowledged", actor: agentActor(agentId), data: { agent_id: agentId, run_id: run.id } });
    }
    if (task.status === "todo") {
      // Dispatched work starts: the runner does not wait on the agent to say so, nor on dependencies an admin chose to overlook.
      task = await moveLockedTask(manager, task, "in_progress", agentActor(agentId), { system: true, note: `run ${run.number} started` });
    }
    await recordTaskEvent(manager, task, { type: "task.run_started", actor: agentActor(agentId), data: { run_id: run.id, number: run.number, agent_id: agentId } });
    return { run, task };
  });
}

/** Whether the agent has a task dispatched that a claim would start, without locking anything. */
export async function hasDispatchedWork(db: Queryable, orgId: string, agentId: string): Promise<boolean> {
  const result = await sql(
    db,
    `SELECT 1 FROM tasks WHERE ${CLAIMABLE} LIMIT 1`,
    [orgId, agentId],
  );
  return result.rows.length > 0;
}

async function lockRunOfAgent(manager: EntityManager, orgId: string, agentId: string, runId: string): Promise<TaskRun> {
  const run = (await sql<TaskRun>(manager, "SELECT * FROM task_runs WHERE id = $1 AND org_id = $2 AND agent_id = $3 FOR UPDATE", [runId, orgId, agentId])).rows[0];
  if (!run) throw new NotFoundError(`run ${runId}`);
  return run;
}

/** Why the runner should stop the command: the task was finished, or given to another agent. */
function stopReason(task: Task, agentId: string): string | undefined {
  if (FINISHED.includes(task.status)) return `the task was ${task.status === "done" ? "done" : task.status}`;
  if (task.assignee_id !== agentId) return "the task was given to another agent";
  if (task.needs_human) return "the task waits for a person";
  return undefined;
}

/**
 * The runner is alive: its run's heartbeat, with the output since the last one. The answer tells it
 * to stop the command when the task no longer wants it. A run that already ended is a conflict.
 */
export async function heartbeatRun(db: DataSource, orgId: string, agentId: string, runId: string, log: string): Promise<{ cancel: boolean; reason?: string }> {
  const text = redactSecrets(log);
  const updated = await sql<{ task_id: number }>(
    db,
    `UPDATE task_runs SET heartbeat_at = now(), log = right(log || $4::text, $5), log_size = log_size + length($4::text)
      WHERE id = $1 AND org_id = $2 AND agent_id = $3 AND outcome = 'running' RETURNING task_id`,
    [runId, orgId, agentId, text, RUN_LOG_LIMIT],
  );
  const row = updated.rows[0];
  if (!row) {
    const run = (await sql<TaskRun>(db, `SELECT ${RUN_COLUMNS} FROM task_runs WHERE id = $1 AND org_id = $2 AND agent_id = $3`, [runId, orgId, agentId])).rows[0];
    if (!run) throw new NotFoundError(`run ${runId}`);
    throw new ConflictError(`run ${run.number} of task #${run.task_id} already ended: ${run.outcome}${run.reason ? ` (${run.reason})` : ""}`, "run_finished");
  }
  const task = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1", [row.task_id])).rows[0]!;
  const reason = stopReason(task, agentId);
  return reason ? { cancel: true, reason } : { cancel: false };
}

/** The outcome of a run whose command ended, from the runner's report and the task as it is now. */
function judgeRun(task: Task, agentId: string, report: RunReport): { outcome: RunOutcome; reason: string } {
  const stop = stopReason(task, agentId);
  if (stop || report.cancelled) return { outcome: "cancelled", reason: stop ?? "the runner stopped the command" };
  if (report.timed_out) return { outcome: "timed_out", reason: "the command ran past the runner's time limit (AGENT_TIMEOUT_S)" };
  if (report.error) return { outcome: "failed", reason: report.error };
  if (report.exit_code === null) return { outcome: "failed", reason: "the command was killed by a signal" };
  if (report.exit_code !== 0) return { outcome: "failed", reason: `the command exited with code ${report.exit_code}` };
  if (task.waiting_for_human) return { outcome: "moved", reason: "the agent asked a person: its next run starts with the answer" };
  if (task.status !== "in_progress") return { outcome: "moved", reason: `the agent moved the task to ${task.status}` };
  return { outcome: "failed", reason: "no changes: the command exited 0 without a commit or a move of the task" };
}

/** The runner's report of a run that opened no pull request; a run already ended is answered as it is. */
export async function finishRun(db: DataSource, orgId: string, agentId: string, runId: string, report: RunReport, settings: RunSettings): Promise<TaskRun> {
  const seen = (await sql<TaskRun>(db, "SELECT * FROM task_runs WHERE id = $1 AND org_id = $2 AND agent_id = $3", [runId, orgId, agentId])).rows[0];
  if (!seen) throw new NotFoundError(`run ${runId}`);
  if (seen.outcome !== "running") return seen;
  return db.transaction(async (manager) => {
    // The task first, then its run: the order every other change of a run takes.
    const task = await lockTask(manager, orgId, seen.task_id);
    const run = await lockRunOfAgent(manager, orgId, agentId, runId);
    // Another call ended it while this one waited for the task (the assign job looks again at a task it found locked).
    if (run.outcome !== "running") return run;
    const { outcome, reason } = judgeRun(task, agentId, report);
    const ended = await endRun(manager, task, run, outcome, reason, report);
    if (FAILED_OUTCOMES.includes(outcome)) await afterFailedRun(manager, task, ended, settings);
    return ended;
  });
}

/**
 * Runs whose runner sent no heartbeat in time are lost: the task goes on as after any failed run,
 * and the agent is paused, its runner being gone (setting the agent idle brings it back).
 */
export async function expireLostRuns(db: DataSource, settings: RunSettings): Promise<number> {
  const stale = await sql<{ id: string; task_id: number }>(
    db,
    `SELECT id, task_id FROM task_runs WHERE outcome = 'running' AND heartbeat_at < now() - ($1 * interval '1 millisecond') ORDER BY heartbeat_at LIMIT 100`,
    [settings.heartbeatTimeoutMs],
  );
  let expired = 0;
  for (const { id, task_id: taskId } of stale.rows) {
    const ended = await db.transaction(async (manager) => {
      const task = await lockTask(manager, null, taskId);
      const run = (await sql<TaskRun>(
        manager,
        `SELECT * FROM task_runs WHERE id = $1 AND outcome = 'running' AND heartbeat_at < now() - ($2 * interval '1 millisecond') FOR UPDATE`,
        [id, settings.heartbeatTimeoutMs],
      )).rows[0];
      if (!run) return false;
      const seconds = Math.round(settings.heartbeatTimeoutMs / 1000);
      const lost = await endRun(manager, task, run, "lost", `no heartbeat from the agent's runner for ${seconds} s`);
      await afterFailedRun(manager, task, lost, settings);
      await sql(
        manager,
        "UPDATE agents SET status = 'paused', idle_since = NULL, updated_at = now() WHERE id = $1 AND status IN ('idle', 'working')",
        [run.agent_id],
      );
      return true;
    });
    if (ended) expired++;
  }
  return expired;
}

/** The task's running run when it belongs to the agent, which must be the task's assignee. */
export async function runningRunOfAssignee(db: Queryable, orgId: string, agentId: string, taskId: number): Promise<{ task: Task; run: TaskRun }> {
  const task = (await sql<Task>(db, "SELECT * FROM tasks WHERE id = $1 AND org_id = $2", [taskId, orgId])).rows[0];
  if (!task) throw new NotFoundError(`task ${taskId}`);
  if (task.assignee_id !== agentId) throw new ConflictError(`task #${taskId} is not assigned to this agent`, "not_assignee");
  const run = (await sql<TaskRun>(db, "SELECT * FROM task_runs WHERE task_id = $1 AND outcome = 'running'", [taskId])).rows[0];
  if (!run || run.agent_id !== agentId) throw new ConflictError(`task #${taskId} has no running run of this agent; claim it first`, "no_running_run");
  return { task, run };
}

/**
 * The pull request a run opened: recorded once on the task, which moves to in_review; the run ends
 * with it, and the task's comment on its issue is edited to link it. Repeating it changes nothing.
 */
export async function recordPullRequest(db: DataSource, orgId: string, agentId: string, taskId: number, runId: string, pullRequest: TaskPullRequest): Promise<TaskPullRequest> {
  return db.transaction(async (manager) => {
    let task = await lockTask(manager, orgId, taskId);
    const run = await lockRunOfAgent(manager, orgId, agentId, runId);
    if (run.task_id !== taskId) throw new NotFoundError(`run ${runId} of task ${taskId}`);
    if (!task.pull_request) {
      task = (await sql<Task>(manager, "UPDATE tasks SET pull_request = $2, updated_at = now() WHERE id = $1 RETURNING *", [taskId, JSON.stringify(pullRequest)])).rows[0]!;
      await recordTaskEvent(manager, task, { type: "task.pull_request_opened", actor: agentActor(agentId), data: { ...pullRequest, run_id: runId } });
      if (task.source) {
        await scheduleJob(manager, "github-comment", { taskId, kind: "tracked" }, { jobId: `comment-${taskId}-tracked-pr-${pullRequest.number}` });
      }
    }
    if (task.status === "todo" || task.status === "in_progress") {
      task = await moveLockedTask(manager, task, "in_review", agentActor(agentId), { system: true, note: `pull request #${pullRequest.number}` });
    }
    if (run.outcome === "running") await endRun(manager, task, run, "pull_request", `opened pull request #${task.pull_request!.number}`);
    return task.pull_request!;
  });
}

/** A person gives a task whose runs are spent (or any open task) a new budget of runs, and hands it out again. */
export async function retryTask(db: DataSource, orgId: string, taskId: number, actor: Actor): Promise<Task> {
  return db.transaction(async (manager) => retryLockedTask(manager, await lockTask(manager, orgId, taskId), actor));
}

/** retryTask inside the caller's transaction, on a locked task; `data` is kept on the event (the command's comment). */
export async function retryLockedTask(manager: EntityManager, task: Task, actor: Actor, data: Record<string, unknown> = {}): Promise<Task> {
  if (FINISHED.includes(task.status)) throw new ConflictError(`task #${task.id} is ${task.status}; reopen it before retrying`, "task_finished");
  const retried = (await sql<Task>(
    manager,
    "UPDATE tasks SET needs_human = false, failed_runs = 0, auto_assign = true, updated_at = now() WHERE id = $1 RETURNING *",
    [task.id],
  )).rows[0]!;
  await recordTaskEvent(manager, retried, { type: "task.retried", actor, data: { ...data, failed_runs: { from: task.failed_runs, to: 0 }, needs_human: task.needs_human } });
  if (!retried.assignee_id) await scheduleJob(manager, "assign", { teamId: retried.team_id });
  return retried;
}

/** The runs of a task, newest first, without their logs. */
export async function listRuns(db: Queryable, orgId: string, taskId: number): Promise<RunView[]> {
  const task = await sql(db, "SELECT 1 FROM tasks WHERE id = $1 AND org_id = $2", [taskId, orgId]);
  if (task.rows.length === 0) throw new NotFoundError(`task ${taskId}`);
  return (await sql<RunView>(db, `SELECT ${RUN_COLUMNS} FROM task_runs WHERE task_id = $1 ORDER BY number DESC`, [taskId])).rows;
}

export async function getRun(db: Queryable, orgId: string, taskId: number, runId: string): Promise<TaskRun> {
  const run = (await sql<TaskRun>(db, "SELECT * FROM task_runs WHERE id = $1 AND task_id = $2 AND org_id = $3", [runId, taskId, orgId])).rows[0];
  if (!run) throw new NotFoundError(`run ${runId} of task ${taskId}`);
  return run;
}

/** An agent reads the runs of a task it is assigned or ran once; any other task answers like an unknown one. */
export async function assertAgentWorkedOn(db: Queryable, orgId: string, agentId: string, taskId: number): Promise<void> {
  const found = await sql(
    db,
    `SELECT 1 FROM tasks t WHERE t.id = $1 AND t.org_id = $2
        AND (t.assignee_id = $3 OR EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.agent_id = $3))`,
    [taskId, orgId, agentId],
  );
  if (found.rows.length === 0) throw new NotFoundError(`task ${taskId}`);
}
