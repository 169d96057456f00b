import { mkdir, rm } from "node:fs/promises";
import { AgentProcess, type AgentExit } from "./agent-process.js";
import { ApiError, withRetries, type ClaimedRun, type OpenedPullRequest, type RunnerApi } from "./api-client.js";
import { authenticatedGitEnv, GitTokenSource } from "./git-auth.js";
import type { Redactor } from "./redact.js";
import { agentEnvironment, withGitIdentity, writeRunFiles, type RunFiles } from "./run-files.js";
import { MAX_LOG_BYTES_PER_CALL, RunLog } from "./run-log.js";
import { describeCause, describeOutcome, stoppedReport, type FinishOutcome } from "./run-outcome.js";
import { RunSession, type StopCause } from "./run-session.js";
import type { RunnerSettings } from "./settings.js";
import { checkCloneUrl, commitLeftovers, commitsSinceStart, prepareWorkspace, pushBranch, removeWorkspace, runDir, workspaceDir, type Commit, type Workspace } from "./workspace.js";

export interface RunContext {
  settings: RunnerSettings;
  api: RunnerApi;
  redactor: Redactor;
  /** The runner is stopping (SIGINT/SIGTERM). */
  stopSignal: AbortSignal;
  /** A line of the runner's own log (stderr). */
  say: (line: string) => void;
  /** The command's output, echoed (stdout). */
  echo: (text: string) => void;
}

/** What the work of a run came to: a branch to open a pull request from, or what to tell the finish call. */
type Outcome = { pushed: Workspace; commits: Commit[] } | FinishOutcome;

/** The finish report of a command that ended by itself; a signal nobody in the runner sent is said. */
function exitReport(exit: AgentExit): FinishOutcome {
  const exitCode = exit.exitCode;
  return { exit_code: exitCode, timed_out: false, cancelled: false, ...(exitCode === null ? { error: `the command was ended by ${exit.signal}` } : {}) };
}

/** The steps of one run in order; see the brief of `npm run agent`. */
class Run {
  private readonly session: RunSession;
  private readonly taskId: number;
  private exit?: AgentExit;
  /** The run folder, once known: removed after the run, as it holds the key. */
  private folder?: string;

  constructor(private readonly claim: ClaimedRun, private readonly ctx: RunContext) {
    this.taskId = claim.run.task_id;
    this.session = new RunSession(claim, ctx.api, new RunLog(ctx.redactor, ctx.echo), ctx.say);
  }

  private get log(): RunLog {
    return this.session.log;
  }

  /** Clone, run the command, commit and push; never throws: a failure is an outcome with `error`. */
  async work(): Promise<Outcome> {
    try {
      return await this.steps();
    } catch (error) {
      if (this.session.cause) return this.stopped(this.session.cause);
      const message = this.ctx.redactor.redact((error as Error).message);
      this.log.note(`failed: ${message}`);
      return { exit_code: this.exit?.exitCode ?? null, timed_out: false, cancelled: false, error: message };
    }
  }

  private stopped(cause: StopCause): FinishOutcome {
    this.log.note(describeCause(cause, this.ctx.settings.timeoutS));
    return stoppedReport(cause, this.exit);
  }

  private async steps(): Promise<Outcome> {
    const { settings } = this.ctx;
    this.folder = runDir(settings.workdir, this.claim.run.id);
    const files = await writeRunFiles(this.folder, { prompt: this.claim.prompt, mcpUrl: mcpUrlOf(settings), key: settings.key });
    const { workspace: target, task } = this.claim;
    const signal = this.session.signal;
    if (!target) return this.withoutRepository(files);
    checkCloneUrl(target.clone_url, target.github_url, settings.allowFileRemotes);
    const tokens = new GitTokenSource(this.ctx.api, this.taskId, this.ctx.redactor);
    const authEnv = async () => authenticatedGitEnv(settings.env, files.askpass, await tokens.token(signal));

    this.log.note(`cloning ${target.clone_url}`);
    const workspace = await prepareWorkspace({
      dir: workspaceDir(settings.workdir, this.taskId), cloneUrl: target.clone_url, branch: target.branch,
      defaultBranch: target.default_branch, authEnv: await authEnv(), signal,
    });
    this.log.note(`on branch ${workspace.branch} at ${workspace.startCommit.slice(0, 12)}`);

    this.exit = await this.runCommand(workspace, files);
    if (this.session.cause) return this.stopped(this.session.cause);
    if (this.exit.exitCode !== 0) return exitReport(this.exit);

    const gitEnv = withGitIdentity(settings.env);
    if (await commitLeftovers(workspace, `Entourage task #${task.id}: ${task.title}`, gitEnv)) this.log.note("committed the changes the agent left");
    const commits = await commitsSinceStart(workspace, gitEnv);
    if (commits.length === 0) {
      this.log.note("no new commits");
      return { exit_code: 0, timed_out: false, cancelled: false };
    }
    await pushBranch(workspace, await authEnv(), signal);
    this.log.note(`pushed ${commits.length} commit(s) to ${workspace.branch}`);
    this.ctx.say(`task #${this.taskId}: pushed ${commits.length} commit(s) to ${workspace.branch}`);
    return { pushed: workspace, commits };
  }

  /** A task that came from no repository: the command works through MCP alone, in an empty folder; its moves are its outcome. */
  private async withoutRepository(files: RunFiles): Promise<Outcome> {
    const dir = workspaceDir(this.ctx.settings.workdir, this.taskId);
    await removeWorkspace(dir);
    await mkdir(dir, { recursive: true });
    this.log.note("the task has no repository: the command runs in an empty folder");
    this.exit = await this.runCommand({ dir, branch: "", startCommit: "" }, files);
    if (this.session.cause) return this.stopped(this.session.cause);
    return exitReport(this.exit);
  }

  /** Runs the agent command until it exits, times out, or the run is stopped. */
  private async runCommand(workspace: Workspace, files: RunFiles): Promise<AgentExit> {
    const { settings } = this.ctx;
    const env = agentEnvironment(settings.env, { taskId: this.taskId, runId: this.claim.run.id, files, mcpUrl: mcpUrlOf(settings), key: settings.key });
    const agent = new AgentProcess(settings.command, { cwd: workspace.dir, env, onOutput: (chunk) => this.log.write(chunk) });
    const timer = setTimeout(() => this.session.stop({ kind: "timeout" }), settings.timeoutS * 1000);
    const stopAgent = () => void agent.stop();
    this.session.signal.addEventListener("abort", stopAgent, { once: true });
    if (this.session.signal.aborted) stopAgent();
    let exit: AgentExit;
    try {
      exit = await agent.exited;
    } finally {
      clearTimeout(timer);
      this.session.signal.removeEventListener("abort", stopAgent);
      this.log.end();
    }
    const ended = exit.exitCode === null ? `was ended by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    this.log.note(`the command ${ended}`);
    this.ctx.say(`task #${this.taskId}: the command ${ended}`);
    return exit;
  }

  /** Tells the app how the run ended: a pull request, or the finish call. */
  async report(outcome: Outcome): Promise<void> {
    const { api, say } = this.ctx;
    const runId = this.claim.run.id;
    if ("pushed" in outcome) {
      await this.session.sendLog(0);
      // A cancel that came with the last heartbeats still wins: the branch is pushed, but no pull request.
      if (this.session.cause) return this.report(this.stopped(this.session.cause));
      let pr: OpenedPullRequest;
      try {
        pr = await withRetries(() => api.openPullRequest(this.taskId, outcome.pushed.branch, runId, outcome.commits.map((c) => ({ sha: c.sha, subject: c.subject.slice(0, 500) }))));
      } catch (error) {
        const message = `the app could not open the pull request: ${this.ctx.redactor.redact((error as Error).message)}`;
        this.log.note(message);
        return this.report({ exit_code: 0, timed_out: false, cancelled: false, error: message });
      }
      say(`task #${this.taskId}: pull request #${pr.number} ${pr.url}`);
      return;
    }
    await this.session.sendLog(MAX_LOG_BYTES_PER_CALL);
    const report = { ...outcome, log: this.log.take(MAX_LOG_BYTES_PER_CALL) };
    try {
      await withRetries(() => api.finish(runId, report));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409) throw error;
    }
    say(`task #${this.taskId}: finished run ${this.claim.run.number} (${describeOutcome(outcome)})`);
  }

  async handle(): Promise<void> {
    const { settings, stopSignal, say } = this.ctx;
    say(`claimed task #${this.taskId} (run ${this.claim.run.number})`);
    const stopRun = () => this.session.stop({ kind: "stopped" });
    stopSignal.addEventListener("abort", stopRun, { once: true });
    if (stopSignal.aborted) stopRun();
    this.session.start();
    try {
      const outcome = await this.work();
      await this.session.end();
      await this.report(outcome);
    } finally {
      await this.session.end();
      stopSignal.removeEventListener("abort", stopRun);
      if (this.folder) await rm(this.folder, { recursive: true, force: true });
      if (!settings.keepWorkspace) await this.removeCheckout();
    }
  }

  private async removeCheckout(): Promise<void> {
    try {
      await removeWorkspace(workspaceDir(this.ctx.settings.workdir, this.taskId));
    } catch {
      // A task id the runner refused has no workspace to remove.
    }
  }
}

function mcpUrlOf(settings: RunnerSettings): string {
  return `${settings.url}/mcp`;
}

/** Handles one claimed run from clone to pull request or finish; throws only when the app could not be told. */
export async function handleRun(claim: ClaimedRun, ctx: RunContext): Promise<void> {
  await new Run(claim, ctx).handle();
}
