import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { setTimeout as sleep } from "node:timers/promises";
import type { DataSource } from "typeorm";
import { z } from "zod";
import type { Task } from "../../db/entities/task.js";
import type { TaskRun } from "../../db/entities/task-run.js";
import { ConflictError, ForbiddenError } from "../../domain/errors.js";
import type { GitHubTaskSource } from "../../domain/intake.js";
import { openPullRequestForRun } from "../../domain/run-pull-request.js";
import { runBranch, runPrompt } from "../../domain/run-prompt.js";
import {
  assertAgentWorkedOn, claimRun, finishRun, getRun, hasDispatchedWork, heartbeatRun, listRuns, retryTask, runningRunOfAssignee, type RunSettings,
} from "../../domain/runs.js";
import type { RepositoryAccess } from "../../github/repository-access.js";
import type { OutboxRelay } from "../../queue/outbox-relay.js";
import { actorOf, adminOnly } from "../auth.js";
import { claim, heartbeat, pullRequest, pushToken, run, runWithLog, task } from "../responses.js";
import { taskIdText } from "../task-fields.js";

export interface RunRouteOptions {
  db: DataSource;
  relay: OutboxRelay;
  settings: RunSettings;
  /** GitHub's web address; clone URLs must be on its host. */
  githubUrl: string;
  /** Unset while the GitHub App is not configured. */
  repositories?: RepositoryAccess;
}

/** How often a claim that found no work looks again, while it waits. */
const CLAIM_POLL_MS = 500;
/** One heartbeat request carries at most this much output. */
const HEARTBEAT_LOG_LIMIT = 256 * 1024;

const taskParams = z.object({ id: taskIdText });
const runParams = z.object({ run_id: z.uuid() });
const taskRunParams = z.object({ id: taskIdText, run_id: z.uuid() });

function agentOf(request: FastifyRequest): string {
  const agentId = request.principal.agentId;
  if (!agentId) throw new ForbiddenError("this route is for an agent's runner: call it with the agent's key");
  return agentId;
}

/** The runner sends a heartbeat a few times within the app's timeout, at most every 3 s. */
function heartbeatIntervalS(settings: RunSettings): number {
  return Math.max(1, Math.min(3, Math.floor(settings.heartbeatTimeoutMs / 5000)));
}

/** Where the run's workspace comes from: the repository of the signed payload the task came from, or nothing. */
function workspaceOf(task: Task, githubUrl: string) {
  const source = task.source as GitHubTaskSource | null;
  if (!source) return null;
  return {
    repository: source.repository,
    clone_url: source.clone_url ?? `${githubUrl}/${source.repository}.git`,
    branch: runBranch(task.id),
    default_branch: source.default_branch ?? null,
    github_url: githubUrl,
  };
}

/** The agent runner's protocol (claim, credentials, heartbeat, pull request, finish), the runs of a task, and retry. */
export async function runRoutes(scope: FastifyInstance, opts: RunRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db, relay, settings } = opts;
  // Waiting claims end at once when the server closes, rather than holding its close for their whole wait.
  const closing = new AbortController();
  app.addHook("preClose", async () => closing.abort());

  async function claimAnswer(run: TaskRun, task: Task) {
    return {
      run: { id: run.id, number: run.number, task_id: task.id, heartbeat_interval_s: heartbeatIntervalS(settings) },
      task,
      workspace: workspaceOf(task, opts.githubUrl),
      prompt: await runPrompt(db, task, run.number),
    };
  }

  app.post("/api/v1/runner/claim", {
    schema: {
      tags: ["runs"],
      summary: "An agent's runner waits (up to wait_s) for the task dispatched to its agent, and starts a run of it",
      body: z.object({ wait_s: z.number().int().min(0).max(60).default(25) }).strict().optional(),
      response: { 200: claim },
    },
  }, async (request) => {
    const agentId = agentOf(request);
    const { orgId } = request.principal;
    const deadline = Date.now() + (request.body?.wait_s ?? 25) * 1000;
    for (;;) {
      if (await hasDispatchedWork(db, orgId, agentId)) {
        const claimed = await claimRun(db, orgId, agentId, settings);
        await relay.flushQuietly();
        if (claimed) return claimAnswer(claimed.run, claimed.task);
      }
      if (Date.now() >= deadline || closing.signal.aborted || request.raw.socket.destroyed) return { run: null };
      await sleep(CLAIM_POLL_MS, undefined, { signal: closing.signal }).catch(() => undefined);
    }
  });

  app.post("/api/v1/tasks/:id/git-credentials", {
    schema: { tags: ["runs"], summary: "A push token for the task's repository, for its running run's agent only", params: taskParams, response: { 200: pushToken } },
  }, async (request) => {
    const { task } = await runningRunOfAssignee(db, request.principal.orgId, agentOf(request), request.params.id);
    const source = task.source as GitHubTaskSource | null;
    if (!source) throw new ConflictError(`task #${task.id} did not come from GitHub: it has no repository`, "no_repository");
    if (source.installation_id === null) throw new ConflictError(`no GitHub App installation covers ${source.repository}`, "no_installation");
    if (!opts.repositories) throw new ConflictError("the GitHub App is not configured: set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET", "app_not_configured");
    return opts.repositories.pushToken(source.installation_id, source.repository);
  });

  app.post("/api/v1/runs/:run_id/heartbeat", {
    schema: {
      tags: ["runs"], summary: "The runner is alive; the command's output since the last heartbeat. Answers whether to stop the command",
      params: runParams, body: z.object({ log: z.string().max(HEARTBEAT_LOG_LIMIT).default("") }).strict().optional(),
      response: { 200: heartbeat },
    },
  }, async (request) => heartbeatRun(db, request.principal.orgId, agentOf(request), request.params.run_id, request.body?.log ?? ""));

  app.post("/api/v1/runs/:run_id/finish", {
    schema: {
      tags: ["runs"], summary: "The runner's report of a run that opened no pull request",
      params: runParams,
      body: z.object({
        exit_code: z.number().int().nullable(),
        timed_out: z.boolean().optional(),
        cancelled: z.boolean().optional(),
        error: z.string().max(4000).optional(),
        log: z.string().max(HEARTBEAT_LOG_LIMIT).optional(),
      }).strict(),
      response: { 200: run },
    },
  }, async (request) => {
    const run = await finishRun(db, request.principal.orgId, agentOf(request), request.params.run_id, request.body, settings);
    await relay.flushQuietly();
    const { log: _log, ...view } = run;
    return view;
  });

  app.post("/api/v1/tasks/:id/pull-request", {
    schema: {
      tags: ["runs"], summary: "Open the pull request of the run's pushed branch, as the App; once per task",
      params: taskParams,
      body: z.object({
        branch: z.string().min(1).max(255),
        run_id: z.uuid(),
        commits: z.array(z.object({ sha: z.string().regex(/^[0-9a-f]{7,64}$/), subject: z.string().max(500) }).strict()).max(1000).default([]),
      }).strict(),
      response: { 201: pullRequest },
    },
  }, async (request, reply) => {
    const body = request.body;
    const pullRequest = await openPullRequestForRun(db, {
      orgId: request.principal.orgId, agentId: agentOf(request), taskId: request.params.id, runId: body.run_id, branch: body.branch, commits: body.commits,
    }, opts.repositories?.openPullRequest);
    await relay.flushQuietly();
    return reply.status(201).send(pullRequest);
  });

  async function readableTask(request: FastifyRequest, taskId: number): Promise<void> {
    const agentId = request.principal.agentId;
    if (!agentId) return adminOnly(request);
    await assertAgentWorkedOn(db, request.principal.orgId, agentId, taskId);
  }

  app.get("/api/v1/tasks/:id/runs", {
    schema: { tags: ["runs"], summary: "The runs of a task, newest first (admin, or the task's agent); logs in each run's own view", params: taskParams, response: { 200: z.object({ data: z.array(run) }) } },
  }, async (request) => {
    await readableTask(request, request.params.id);
    return { data: await listRuns(db, request.principal.orgId, request.params.id) };
  });

  app.get("/api/v1/tasks/:id/runs/:run_id", {
    schema: { tags: ["runs"], summary: "One run of a task with the last 1 MiB of its output (admin, or the task's agent)", params: taskRunParams, response: { 200: runWithLog } },
  }, async (request) => {
    await readableTask(request, request.params.id);
    return getRun(db, request.principal.orgId, request.params.id, request.params.run_id);
  });

  app.post("/api/v1/tasks/:id/retry", {
    preHandler: adminOnly,
    schema: { tags: ["runs"], summary: "Give a task whose runs are spent a new budget of runs, and hand it to an agent again", params: taskParams, response: { 200: task } },
  }, async (request) => {
    const task = await retryTask(db, request.principal.orgId, request.params.id, actorOf(request.principal));
    await relay.flushQuietly();
    return task;
  });
}
