import { z } from "zod";
import { sleep } from "./sleep.js";

/** A call to the app that failed: status 0 when no answer came (network, timeout). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "ApiError";
  }

  /** The app may be restarting or busy: the same call can succeed later. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  /** The key is wrong or revoked: no later call will do better. */
  get fatal(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

const claimSchema = z.object({
  run: z.object({
    id: z.string().min(1),
    number: z.number().int(),
    task_id: z.number().int().positive(),
    heartbeat_interval_s: z.number().positive().optional(),
  }),
  task: z.object({ id: z.number().int(), title: z.string(), status: z.string().optional() }),
  // Null for a task that did not come from GitHub: the command runs in an empty folder, through MCP alone.
  workspace: z.object({
    clone_url: z.string().min(1),
    branch: z.string().min(1),
    default_branch: z.string().min(1).nullable(),
    github_url: z.string().min(1),
  }).nullable(),
  prompt: z.string(),
});
export type ClaimedRun = z.infer<typeof claimSchema>;

const credentialsSchema = z.object({ token: z.string().min(1), expires_at: z.string() });
export type GitCredentials = z.infer<typeof credentialsSchema>;

const heartbeatSchema = z.object({ cancel: z.boolean(), reason: z.string().optional() });
export type HeartbeatAnswer = z.infer<typeof heartbeatSchema>;

const pullRequestSchema = z.object({ number: z.number().int(), url: z.string() });
export type OpenedPullRequest = z.infer<typeof pullRequestSchema>;

export interface FinishReport {
  exit_code: number | null;
  timed_out: boolean;
  cancelled: boolean;
  error?: string;
  log: string;
}

/** How long the app may take over an ordinary call; the claim's long poll gets its wait on top. */
const CALL_TIMEOUT_MS = 30_000;
const LONG_POLL_MARGIN_MS = 15_000;

function errorOf(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === "string" ? error.code : `http_${status}`;
  const message = typeof error?.message === "string" ? error.message : `the app answered ${status}`;
  return new ApiError(status, code, message);
}

/** The runner's side of the protocol: one method per call, the agent key on each. */
export class RunnerApi {
  constructor(private readonly url: string, private readonly key: string) {}

  /** Waits up to waitS seconds for work; null when none came. */
  async claim(waitS: number, signal?: AbortSignal): Promise<ClaimedRun | null> {
    const body = await this.call("POST", "/api/v1/runner/claim", { wait_s: waitS }, waitS * 1000 + LONG_POLL_MARGIN_MS, signal);
    if ((body as { run?: unknown } | undefined)?.run === null) return null;
    return this.parse(claimSchema, body, "claim");
  }

  /** A short-lived installation token for cloning and pushing the task's repository. */
  async gitCredentials(taskId: number, signal?: AbortSignal): Promise<GitCredentials> {
    return this.parse(credentialsSchema, await this.call("POST", `/api/v1/tasks/${taskId}/git-credentials`, undefined, CALL_TIMEOUT_MS, signal), "git-credentials");
  }

  /** Says the run is alive and hands over its output since the last call; the answer says whether to stop. */
  async heartbeat(runId: string, log: string): Promise<HeartbeatAnswer> {
    return this.parse(heartbeatSchema, await this.call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/heartbeat`, { log }), "heartbeat");
  }

  /** Asks the app to open the pull request of the pushed branch; this also finishes the run. */
  async openPullRequest(taskId: number, branch: string, runId: string, commits: readonly { sha: string; subject: string }[]): Promise<OpenedPullRequest> {
    const body = await this.call("POST", `/api/v1/tasks/${taskId}/pull-request`, { branch, run_id: runId, commits: commits.slice(-1000) });
    return this.parse(pullRequestSchema, body, "pull-request");
  }

  /** Ends the run in every case but an opened pull request. */
  async finish(runId: string, report: FinishReport): Promise<void> {
    await this.call("POST", `/api/v1/runs/${encodeURIComponent(runId)}/finish`, report);
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ApiError(0, "bad_answer", `the app's ${what} answer is not what the runner expects: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data;
  }

  private async call(method: string, route: string, body?: unknown, timeoutMs = CALL_TIMEOUT_MS, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason = (error as { cause?: { code?: string; message?: string } }).cause;
      const cause = reason?.code ?? reason?.message ?? (error as Error).message;
      throw new ApiError(0, "unreachable", `no answer from ${this.url} (${cause})`);
    }
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) throw errorOf(response.status, json);
    return json;
  }
}

// Calls that end a run are retried while the app is unreachable or restarting: about half a minute in all.
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000];

/** The call, tried again after each retryable failure (no answer, 429, 5xx) until the delays run out. */
export async function withRetries<T>(call: () => Promise<T>, delaysMs: readonly number[] = RETRY_DELAYS_MS): Promise<T> {
  for (const delayMs of delaysMs) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || !error.retryable) throw error;
      await sleep(delayMs);
    }
  }
  return call();
}
