import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rawRequest } from "./http-client.js";

export const APP_ENTRY = path.resolve("dist/index.js");
export const ADMIN_CLI = path.resolve("dist/cli/admin.js");
const EXIT_WITH_PARENT = path.resolve("test/helpers/exit-with-parent.mjs");
export const RUN_WITH_PARENT = path.resolve("test/helpers/run-with-parent.mjs");

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The last lines of a log file, for an error message. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export interface Spawned {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** True once something asked it to stop; an exit without that is a crash. */
  stopping: boolean;
}

/**
 * Child processes of one test file: each logs to its own file, stops by itself when the test process
 * dies (IPC channel), and `stopAll` ends whatever is left, SIGKILL after a grace period.
 */
export class ChildProcesses {
  private readonly running = new Set<Spawned>();
  private crash?: Error;

  constructor(private readonly logDir: string) {}

  /** `node [--import exit-with-parent] script`, or any command through run-with-parent.mjs. */
  spawn(name: string, command: string[], options: { env: Record<string, string>; cwd?: string; node?: boolean }): Spawned {
    const logPath = path.join(this.logDir, `${name}.log`);
    const log = openSync(logPath, "a");
    const argv = options.node === false ? [RUN_WITH_PARENT, ...command] : ["--import", EXIT_WITH_PARENT, ...command];
    const child = spawn(process.execPath, argv, {
      cwd: options.cwd ?? this.logDir,
      env: { PATH: process.env.PATH ?? "", ...options.env },
      stdio: ["ignore", log, log, "ipc"],
    });
    closeSync(log);
    child.channel?.unref();
    const record: Spawned = { name, child, logPath, stopping: false, exited: Promise.resolve(null) };
    record.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.running.delete(record);
        if (!record.stopping) this.crash ??= new Error(`${name} exited on its own (${signal ?? `code ${code}`}):\n${tail(logPath)}`);
        resolve(code);
      });
    });
    this.running.add(record);
    return record;
  }

  /** Throws when a child exited without being asked to. */
  check(): void {
    if (this.crash) throw this.crash;
  }

  /** Polls `ready` until it is true; throws at once when a child crashed, and with the child's log after timeoutMs. */
  async waitUntilReady(spawned: Spawned, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await ready())) {
      this.check();
      if (Date.now() > deadline) throw new Error(`${spawned.name} was not ready in ${timeoutMs} ms:\n${tail(spawned.logPath)}`);
      await sleep(100);
    }
  }

  /** A hard crash: SIGKILL, no shutdown code runs. */
  async kill(record: Spawned): Promise<void> {
    record.stopping = true;
    record.child.kill("SIGKILL");
    await record.exited;
  }

  async stop(record: Spawned, graceMs = 10_000): Promise<void> {
    if (!this.running.has(record)) return;
    record.stopping = true;
    record.child.kill("SIGTERM");
    // Unreferenced: the grace timer of a child that exited in time must not keep jest waiting.
    if ((await Promise.race([record.exited.then(() => "exited"), sleep(graceMs, undefined, { ref: false }).then(() => "timeout")])) === "timeout") {
      record.child.kill("SIGKILL");
      await record.exited;
    }
  }

  async stopAll(graceMs?: number): Promise<void> {
    await Promise.all([...this.running].map((record) => this.stop(record, graceMs)));
  }
}

/**
 * GET a local URL; its status, or 0 when nothing answers. A raw socket, not node:http: in a jest worker
 * where an earlier test file nocked GitHub, nock's leftover interceptor turns a refused connection into
 * an uncaught error that fails the whole file.
 */
export async function httpStatus(port: number, urlPath: string): Promise<number> {
  const answer = await rawRequest(port, `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, [], 2000);
  return answer.status;
}

export interface AppProcess extends Spawned {
  port: number;
}

/** `node dist/index.js` in a role, on a port of its own; resolves once its health route answers 200. */
export async function startApp(children: ChildProcesses, name: string, role: "web" | "worker", env: Record<string, string>, readyMs = 60_000): Promise<AppProcess> {
  const port = await freePort();
  const spawned = children.spawn(name, [APP_ENTRY], { env: { ...env, ROLE: role, PORT: String(port), HOST: "127.0.0.1" } });
  await children.waitUntilReady(spawned, readyMs, async () => (await httpStatus(port, "/api/v1/health")) === 200);
  return Object.assign(spawned, { port });
}
