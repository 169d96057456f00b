import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A git command that failed; its message is git's own last words, which the caller redacts before showing. */
export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitError";
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface GitOptions {
  cwd?: string;
  env: Env;
  signal?: AbortSignal;
}

/** The git command among the arguments: the first that is neither an option nor the value of -c. */
function commandName(args: readonly string[]): string {
  return args.find((arg, i) => !arg.startsWith("-") && args[i - 1] !== "-c") ?? "";
}

/** Runs git with an argument array (no shell), and gives its standard output. */
export async function git(args: readonly string[], options: GitOptions): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", [...args], {
      cwd: options.cwd,
      env: { ...options.env, GIT_TERMINAL_PROMPT: "0" },
      signal: options.signal,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ").slice(-600);
    throw new GitError(`git ${commandName(args)} failed: ${stderr || (error as Error).message}`);
  }
}
