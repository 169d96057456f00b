import { spawn, type ChildProcess } from "node:child_process";
import type { Env } from "./git.js";

/** How the command ended: its exit code, or the signal that ended it (exitCode null). */
export interface AgentExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface AgentCommandOptions {
  cwd: string;
  env: Env;
  /** Each chunk of output, stdout and stderr interleaved in the order they were written. */
  onOutput: (chunk: Buffer) => void;
  /** Between SIGTERM and SIGKILL. */
  graceMs?: number;
}

const DEFAULT_GRACE_MS = 5000;
// After the group is killed, how long to wait for a process that left the group but still holds the output pipe.
const PIPE_CLOSE_WAIT_MS = 1000;

/** Sends a signal to every process of the group; false when none is left. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The agent command, run with `sh -c` in its own process group with stdin closed, so that stopping it
 * stops everything it started. stderr goes to the same pipe as stdout, which keeps their true order.
 */
export class AgentProcess {
  /** Settles once the command has exited and its output has been read to the end. */
  readonly exited: Promise<AgentExit>;
  private readonly child: ChildProcess;
  private readonly graceMs: number;
  private stopping?: Promise<void>;

  constructor(command: string, options: AgentCommandOptions) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.child = spawn("sh", ["-c", `exec 2>&1\n${command}`], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    this.child.stdout!.on("data", options.onOutput);
    this.exited = this.waitForEnd();
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGTERM to the whole group, SIGKILL to what is left after the grace period; resolves when the command has ended. */
  async stop(): Promise<AgentExit> {
    this.stopping ??= this.terminateGroup();
    await this.stopping;
    return this.exited;
  }

  private async terminateGroup(): Promise<void> {
    if (!signalGroup(this.pid, "SIGTERM")) return;
    const deadline = Date.now() + this.graceMs;
    while (Date.now() < deadline) {
      if (!signalGroup(this.pid, 0)) return;
      await delay(100);
    }
    signalGroup(this.pid, "SIGKILL");
  }

  private async waitForEnd(): Promise<AgentExit> {
    const closed = new Promise<void>((resolve) => this.child.stdout!.once("close", resolve));
    const spawnFailed = new Promise<never>((_, reject) => this.child.once("error", reject));
    const exit = await Promise.race([
      new Promise<AgentExit>((resolve) => this.child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }))),
      spawnFailed,
    ]);
    // What the command left running in the background goes with it; then the pipe closes.
    this.stopping ??= this.terminateGroup();
    await this.stopping;
    await Promise.race([closed, delay(PIPE_CLOSE_WAIT_MS)]);
    this.child.stdout!.destroy();
    return exit;
  }
}
