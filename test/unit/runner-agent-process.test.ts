import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { AgentProcess } from "../../src/runner/agent-process.js";

/** Whether the process still runs: gone, or a zombie nobody reaped yet, counts as not. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Starts a command and collects its output. */
function start(command: string, graceMs?: number, env: Record<string, string | undefined> = process.env) {
  const chunks: Buffer[] = [];
  const agent = new AgentProcess(command, { cwd: tmpdir(), env, graceMs, onOutput: (chunk) => chunks.push(chunk) });
  return { agent, output: () => Buffer.concat(chunks).toString("utf8") };
}

async function waitForOutput(output: () => string, pattern: RegExp): Promise<RegExpMatchArray> {
  for (let i = 0; i < 200; i++) {
    const match = output().match(pattern);
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no ${pattern} in ${JSON.stringify(output())}`);
}

describe("AgentProcess", () => {
  it("gives stdout and stderr interleaved in the order they were written, and the exit code", async () => {
    const { agent, output } = start("echo one; echo two >&2; echo three; exit 3");
    expect(await agent.exited).toEqual({ exitCode: 3, signal: null });
    expect(output()).toBe("one\ntwo\nthree\n");
  });

  it("runs with stdin closed, in the given environment", async () => {
    const { agent, output } = start('cat; echo "read nothing, task $ENTOURAGE_TASK_ID"', undefined, { PATH: process.env.PATH, ENTOURAGE_TASK_ID: "12" });
    expect(await agent.exited).toEqual({ exitCode: 0, signal: null });
    expect(output()).toBe("read nothing, task 12\n");
  });

  it("stops the command and the child it left in the background, both gone", async () => {
    const { agent, output } = start("sleep 100 & echo child=$!; wait");
    const child = Number((await waitForOutput(output, /child=(\d+)/))[1]);
    expect(isAlive(agent.pid)).toBe(true);
    expect(isAlive(child)).toBe(true);
    const started = Date.now();
    expect(await agent.stop()).toEqual({ exitCode: null, signal: "SIGTERM" });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(isAlive(agent.pid)).toBe(false);
    expect(isAlive(child)).toBe(false);
  });

  it("kills with SIGKILL what ignores SIGTERM, once the grace period is over", async () => {
    const { agent, output } = start("trap '' TERM; sleep 100 & echo child=$!; while :; do sleep 1; done", 500);
    const child = Number((await waitForOutput(output, /child=(\d+)/))[1]);
    const started = Date.now();
    expect(await agent.stop()).toEqual({ exitCode: null, signal: "SIGKILL" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(isAlive(agent.pid)).toBe(false);
    expect(isAlive(child)).toBe(false);
  });

  it("ends what the command left running when it exits on its own", async () => {
    const { agent, output } = start("sleep 100 & echo child=$!; exit 0");
    expect(await agent.exited).toEqual({ exitCode: 0, signal: null });
    const child = Number(output().match(/child=(\d+)/)![1]);
    expect(isAlive(child)).toBe(false);
  });
});
