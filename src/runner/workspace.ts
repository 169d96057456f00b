import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { NO_CREDENTIAL_HELPER } from "./git-auth.js";
import { git, type Env } from "./git.js";

/** The runner will not work where the app asked: a clone URL, a branch or a path it refuses. */
export class WorkspaceRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkspaceRefusal";
  }
}

/** A path under root, or a refusal when the joined name would step outside it. */
function confined(root: string, name: string): string {
  const resolved = path.resolve(root, name);
  const relative = path.relative(path.resolve(root), resolved);
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative) || relative.includes(path.sep)) {
    throw new WorkspaceRefusal(`${JSON.stringify(name)} would not be a folder directly inside ${root}`);
  }
  return resolved;
}

/** AGENT_WORKDIR/task-<id>: the checkout of one task. */
export function workspaceDir(workdir: string, taskId: unknown): string {
  if (typeof taskId !== "number" || !Number.isSafeInteger(taskId) || taskId <= 0) throw new WorkspaceRefusal(`task id ${JSON.stringify(taskId)} is not a positive integer`);
  return confined(workdir, `task-${taskId}`);
}

/** AGENT_WORKDIR/.runs/<run id>: the prompt, MCP settings and askpass helper of one run, outside the checkout. */
export function runDir(workdir: string, runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(runId)) throw new WorkspaceRefusal(`run id ${JSON.stringify(runId)} is not a plain id`);
  return path.join(confined(workdir, ".runs"), runId);
}

/** Refuses a clone URL that is not https:// on the GitHub host of the workspace, or file:// when those are allowed. */
export function checkCloneUrl(cloneUrl: string, githubUrl: string, allowFileRemotes: boolean): void {
  if (!URL.canParse(cloneUrl)) throw new WorkspaceRefusal(`the clone URL ${JSON.stringify(cloneUrl)} is not a URL`);
  const url = new URL(cloneUrl);
  if (url.protocol === "file:") {
    if (allowFileRemotes) return;
    throw new WorkspaceRefusal("refused to clone a file:// URL (set AGENT_ALLOW_FILE_REMOTES=true to allow it)");
  }
  const host = URL.canParse(githubUrl) ? new URL(githubUrl).host : undefined;
  if (url.protocol !== "https:") throw new WorkspaceRefusal(`refused to clone ${url.protocol}// URL: only https:// on ${host ?? "the GitHub host"}`);
  if (url.username !== "" || url.password !== "") throw new WorkspaceRefusal("refused to clone a URL that carries credentials");
  if (host === undefined || url.host !== host) throw new WorkspaceRefusal(`refused to clone from ${url.host}: the repository's GitHub is ${host ?? JSON.stringify(githubUrl)}`);
}

/** A branch name safe to hand to git as an argument: no option, no odd characters. */
export function checkBranchName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/.test(name) || name.includes("..") || name.includes("//") || name.endsWith("/") || name.endsWith(".lock")) {
    throw new WorkspaceRefusal(`refused the branch name ${JSON.stringify(name)}`);
  }
}

export interface Workspace {
  dir: string;
  branch: string;
  /** HEAD after the checkout: commits after it are the run's work. */
  startCommit: string;
}

export interface WorkspaceRequest {
  dir: string;
  cloneUrl: string;
  branch: string;
  /** Unset: the remote's own default (its HEAD). */
  defaultBranch?: string | null;
  /** An environment that lets git authenticate (see authenticatedGitEnv). */
  authEnv: Env;
  signal?: AbortSignal;
}

/** Whether the remote has the branch already: a later run continues it. */
async function remoteHasBranch(dir: string, branch: string, authEnv: Env, signal?: AbortSignal): Promise<boolean> {
  const ref = `refs/heads/${branch}`;
  const out = await git([...NO_CREDENTIAL_HELPER, "ls-remote", "--heads", "origin", ref], { cwd: dir, env: authEnv, signal });
  return out.split("\n").some((line) => line.split("\t")[1] === ref);
}

/** A fresh clone in request.dir, on the task's branch: the remote's when it exists, else a new one from the default branch. */
export async function prepareWorkspace(request: WorkspaceRequest): Promise<Workspace> {
  const { dir, branch, defaultBranch, authEnv, signal } = request;
  checkBranchName(branch);
  if (defaultBranch) checkBranchName(defaultBranch);
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await git([...NO_CREDENTIAL_HELPER, "clone", "--quiet", "--", request.cloneUrl, dir], { env: authEnv, signal });
  const exists = await remoteHasBranch(dir, branch, authEnv, signal);
  const start = `refs/remotes/origin/${exists ? branch : defaultBranch || "HEAD"}`;
  await git(["checkout", "--quiet", "-B", branch, start, "--"], { cwd: dir, env: authEnv, signal });
  const startCommit = (await git(["rev-parse", "HEAD"], { cwd: dir, env: authEnv, signal })).trim();
  return { dir, branch, startCommit };
}

/** Commits whatever the agent left uncommitted; false when the tree was clean. */
export async function commitLeftovers(workspace: Workspace, message: string, env: Env): Promise<boolean> {
  const status = await git(["status", "--porcelain"], { cwd: workspace.dir, env });
  if (status.trim() === "") return false;
  await git(["add", "-A"], { cwd: workspace.dir, env });
  await git(["commit", "--quiet", "--no-verify", "-m", message], { cwd: workspace.dir, env });
  return true;
}

export interface Commit {
  sha: string;
  subject: string;
}

/** The commits the branch has after the one the run started from, oldest first. */
export async function commitsSinceStart(workspace: Workspace, env: Env): Promise<Commit[]> {
  const out = await git(["log", "--reverse", "--format=%H%x09%s", `${workspace.startCommit}..HEAD`], { cwd: workspace.dir, env });
  return out.split("\n").filter((line) => line !== "").map((line) => {
    const [sha, ...subject] = line.split("\t");
    return { sha: sha!, subject: subject.join("\t") };
  });
}

/** Pushes HEAD to the task's branch on the remote. */
export async function pushBranch(workspace: Workspace, authEnv: Env, signal?: AbortSignal): Promise<void> {
  await git([...NO_CREDENTIAL_HELPER, "push", "--quiet", "origin", `HEAD:refs/heads/${workspace.branch}`], { cwd: workspace.dir, env: authEnv, signal });
}

/** Removes a task's checkout. */
export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
