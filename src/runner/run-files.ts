import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { writeAskpassScript } from "./git-auth.js";
import type { Env } from "./git.js";

/** The files of one run, in its folder outside the workspace. */
export interface RunFiles {
  dir: string;
  promptFile: string;
  mcpConfigFile: string;
  askpass: string;
}

/** The MCP client configuration that points the agent at the app's /mcp with its key (Claude Code's --mcp-config format). */
export function mcpConfig(mcpUrl: string, key: string): string {
  return JSON.stringify({ mcpServers: { entourage: { type: "http", url: mcpUrl, headers: { Authorization: `Bearer ${key}` } } } });
}

/** Writes prompt.md, mcp.json (0600: it holds the key) and the askpass helper into a fresh run folder. */
export async function writeRunFiles(dir: string, input: { prompt: string; mcpUrl: string; key: string }): Promise<RunFiles> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const promptFile = path.join(dir, "prompt.md");
  const mcpConfigFile = path.join(dir, "mcp.json");
  await writeFile(promptFile, input.prompt, { mode: 0o600 });
  await writeFile(mcpConfigFile, mcpConfig(input.mcpUrl, input.key), { mode: 0o600 });
  await chmod(mcpConfigFile, 0o600);
  return { dir, promptFile, mcpConfigFile, askpass: await writeAskpassScript(dir) };
}

const DEFAULT_IDENTITY = { name: "Entourage agent", email: "agent@entourage.invalid" };

/** The environment plus a git author and committer, each only where the environment names none. */
export function withGitIdentity(env: Env): Env {
  return {
    ...env,
    GIT_AUTHOR_NAME: env.GIT_AUTHOR_NAME || DEFAULT_IDENTITY.name,
    GIT_AUTHOR_EMAIL: env.GIT_AUTHOR_EMAIL || DEFAULT_IDENTITY.email,
    GIT_COMMITTER_NAME: env.GIT_COMMITTER_NAME || DEFAULT_IDENTITY.name,
    GIT_COMMITTER_EMAIL: env.GIT_COMMITTER_EMAIL || DEFAULT_IDENTITY.email,
  };
}

/**
 * The agent command's environment: the runner's own, what the command needs to find its task, and a git
 * identity. Never the git token. The task's text reaches the command only through ENTOURAGE_PROMPT_FILE.
 */
export function agentEnvironment(base: Env, input: { taskId: number; runId: string; files: RunFiles; mcpUrl: string; key: string }): Env {
  return withGitIdentity({
    ...base,
    ENTOURAGE_TASK_ID: String(input.taskId),
    ENTOURAGE_RUN_ID: input.runId,
    ENTOURAGE_PROMPT_FILE: input.files.promptFile,
    ENTOURAGE_MCP_CONFIG: input.files.mcpConfigFile,
    ENTOURAGE_MCP_URL: input.mcpUrl,
    ENTOURAGE_API_KEY: input.key,
    GIT_TERMINAL_PROMPT: "0",
  });
}
