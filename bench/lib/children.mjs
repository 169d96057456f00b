// The processes the bench starts: each logs to its own file, is stopped by SIGTERM (SIGKILL after a
// grace period), and stops by itself if the bench dies. An exit the bench did not ask for is a crash.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

const EXIT_WITH_PARENT = fileURLToPath(new URL("./exit-with-parent.mjs", import.meta.url));
const STOP_GRACE_MS = 20_000;

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export class ChildCrashedError extends Error {}

export class Children {
  /** @param {string} logDir where each child's stdout and stderr go */
  constructor(logDir) {
    this.logDir = logDir;
    this.running = new Set();
    this.crash = undefined;
  }

  /**
   * Starts `node [nodeArgs] script` with `env` on top of this process's environment.
   * @returns {{ name: string, port?: number, process: import("node:child_process").ChildProcess, exited: Promise<number|null>, logPath: string }}
   */
  start(name, script, { env, nodeArgs = [], cwd, port }) {
    const logPath = path.join(this.logDir, `${name}.log`);
    const log = openSync(logPath, "a");
    const child = spawn(process.execPath, ["--import", EXIT_WITH_PARENT, ...nodeArgs, script], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", log, log, "ipc"],
    });
    closeSync(log);
    child.channel?.unref();
    const record = { name, port, process: child, logPath, stopping: false, exited: undefined };
    record.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.running.delete(record);
        if (!record.stopping) this.crash ??= new ChildCrashedError(`${name} exited on its own (${signal ?? `code ${code}`}); log: ${logPath}\n${tail(logPath)}`);
        resolve(code);
      });
    });
    this.running.add(record);
    return record;
  }

  /** Throws if a child exited without being asked to. */
  check() {
    if (this.crash) throw this.crash;
  }

  async stop(record) {
    if (!this.running.has(record)) return;
    record.stopping = true;
    record.process.kill("SIGTERM");
    const timer = sleep(STOP_GRACE_MS).then(() => "timeout");
    if ((await Promise.race([record.exited, timer])) === "timeout") {
      record.process.kill("SIGKILL");
      await record.exited;
    }
  }

  async stopAll() {
    await Promise.all([...this.running].map((record) => this.stop(record)));
  }

  /** Last resort on exit: no waiting is possible there. */
  killAllNow() {
    for (const record of this.running) {
      record.stopping = true;
      record.process.kill("SIGKILL");
    }
  }
}

/** The last lines of a log, for an error message. */
export function tail(file, lines = 20) {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
