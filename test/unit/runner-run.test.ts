import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { git } from "../../src/runner/git.js";
import { FatalRunnerError, runRunner } from "../../src/runner/loop.js";
import type { RunnerSettings } from "../../src/runner/settings.js";
import { bareRepository, gitSandbox } from "../helpers/git-remote.js";

const KEY = "oc_runTestKey0123456789abcdefghijklmnopqrstuv";
const TOKEN = "ghs_runTestToken0123456789abcdefghijklmnop";
const RUN_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const PROMPT = "Fix the README.\nIgnore $(touch pwned).\n";

interface Call {
  route: string;
  body: any;
  authorization?: string;
}

/** The app's side of the runner protocol, scripted per test; it records every call. */
class FakeApp {
  calls: Call[] = [];
  claims: (() => [number, unknown])[] = [];
  cancelAfterHeartbeats = Infinity;
  heartbeatStatus = 200;
  pullRequestStatus = 201;
  private server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  bodies(route: string): any[] {
    return this.calls.filter((c) => c.route === route).map((c) => c.body);
  }

  /** Every log text the runner sent, heartbeats then finish. */
  log(): string {
    return this.calls.map((c) => (typeof c.body?.log === "string" ? c.body.log : "")).join("");
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of req) text += chunk;
    const route = `${req.method} ${req.url!.replace(RUN_ID, ":run").replace(/\/tasks\/\d+\//, "/tasks/:id/")}`;
    this.calls.push({ route, body: text ? JSON.parse(text) : undefined, authorization: req.headers.authorization });
    const [status, body] = this.answer(route);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private answer(route: string): [number, unknown] {
    switch (route) {
      case "POST /api/v1/runner/claim":
        return this.claims.shift()?.() ?? [200, { run: null }];
      case "POST /api/v1/tasks/:id/git-credentials":
        return [200, { token: TOKEN, expires_at: new Date(Date.now() + 3600_000).toISOString() }];
      case "POST /api/v1/runs/:run/heartbeat": {
        if (this.heartbeatStatus !== 200) return [this.heartbeatStatus, { error: { code: "conflict", message: "the run is not running" } }];
        const cancel = this.bodies(route).length >= this.cancelAfterHeartbeats;
        return [200, cancel ? { cancel: true, reason: "cancelled by a maintainer" } : { cancel: false }];
      }
      case "POST /api/v1/tasks/:id/pull-request":
        if (this.pullRequestStatus !== 201) return [this.pullRequestStatus, { error: { code: "unprocessable", message: "GitHub refused the pull request" } }];
        return [201, { number: 5, url: "https://github.com/o/r/pull/5" }];
      case "POST /api/v1/runs/:run/finish":
        return [200, { id: RUN_ID, status: "finished" }];
      default:
        return [404, { error: { code: "not_found", message: `no route ${route}` } }];
    }
  }
}

let root: string;
let remote: string;
let app: FakeApp;
let url: string;
let env: NodeJS.ProcessEnv;

function claimOf(overrides: { clone_url?: string; noRepository?: boolean } = {}): () => [number, unknown] {
  return () => [200, {
    run: { id: RUN_ID, number: 1, task_id: 12, heartbeat_interval_s: 1 },
    task: { id: 12, title: "Fix the README", status: "in_progress" },
    workspace: overrides.noRepository ? null
      : { clone_url: overrides.clone_url ?? `file://${remote}`, branch: "entourage/task-12", default_branch: "main", github_url: "https://github.com" },
    prompt: PROMPT,
  }];
}

function settingsOf(command: string, overrides: Partial<RunnerSettings> = {}): RunnerSettings {
  return {
    url, key: KEY, command, workdir: path.join(root, "work"), timeoutS: 60, allowFileRemotes: true, keepWorkspace: false, once: true,
    env, ...overrides,
  };
}

/** Runs the runner for one run; its stdout and stderr. */
async function runOnce(settings: RunnerSettings, stopSignal = new AbortController().signal): Promise<{ stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  await runRunner(settings, { stopSignal, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { stdout, stderr };
}

beforeAll(async () => {
  ({ root, env } = gitSandbox("runner-run"));
  remote = await bareRepository(root, env);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(async () => {
  app = new FakeApp();
  url = await app.start();
});

afterEach(async () => {
  await app.stop();
});

describe("one run", () => {
  it("clones, runs the command with its files and variables, pushes, and asks for the pull request", async () => {
    app.claims.push(claimOf());
    const command = [
      'cat "$ENTOURAGE_PROMPT_FILE"',
      'stat -c "mcp mode %a" "$ENTOURAGE_MCP_CONFIG"',
      'cat "$ENTOURAGE_MCP_CONFIG"; echo',
      'echo "task=$ENTOURAGE_TASK_ID run=$ENTOURAGE_RUN_ID mcp=$ENTOURAGE_MCP_URL key=$ENTOURAGE_API_KEY prompt=$GIT_TERMINAL_PROMPT"',
      "env | grep -c ENTOURAGE_GIT_TOKEN || true",
      "echo fixed >> README.md",
    ].join("\n");
    const { stdout, stderr } = await runOnce(settingsOf(command));

    expect(app.calls.every((c) => c.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(app.bodies("POST /api/v1/runner/claim")[0]).toEqual({ wait_s: 25 });
    const log = app.log();
    expect(log).toContain(PROMPT);
    expect(log).toContain("mcp mode 600\n");
    expect(log).toContain(`{"mcpServers":{"entourage":{"type":"http","url":"${url}/mcp","headers":{"Authorization":"Bearer [redacted]"}}}}`);
    expect(log).toContain(`task=12 run=${RUN_ID} mcp=${url}/mcp key=[redacted] prompt=0\n0\n`);
    expect(log).not.toContain(KEY);
    expect(log).not.toContain(TOKEN);
    expect(stdout).toContain("mcp mode 600");
    expect(stdout + stderr).not.toContain(KEY);

    expect(app.bodies("POST /api/v1/tasks/:id/pull-request")).toEqual([{
      branch: "entourage/task-12", run_id: RUN_ID, commits: [{ sha: expect.stringMatching(/^[0-9a-f]{40}$/), subject: "Entourage task #12: Fix the README" }],
    }]);
    expect(app.bodies("POST /api/v1/runs/:run/finish")).toEqual([]);
    expect(await git(["log", "--format=%s", "-1", "refs/heads/entourage/task-12"], { cwd: remote, env })).toBe("Entourage task #12: Fix the README\n");
    expect(stderr).toContain("runner: claimed task #12 (run 1)\n");
    expect(stderr).toContain("runner: task #12: pull request #5 https://github.com/o/r/pull/5\n");
    expect(readdirSync(path.join(root, "work"))).toEqual([".runs"]);
    expect(readdirSync(path.join(root, "work", ".runs"))).toEqual([]);
    expect(existsSync(path.join(root, "work", "task-12", "pwned"))).toBe(false);
  });

  it.each([
    ["a failing command", "exit 4", { exit_code: 4, timed_out: false, cancelled: false }],
    ["a command that changed nothing", "true", { exit_code: 0, timed_out: false, cancelled: false }],
  ])("finishes %s with its exit code", async (_, command, expected) => {
    app.claims.push(claimOf());
    await runOnce(settingsOf(command));
    const finishes = app.bodies("POST /api/v1/runs/:run/finish");
    expect(finishes).toHaveLength(1);
    expect(finishes[0]).toMatchObject(expected);
    expect(finishes[0].error).toBeUndefined();
    expect(app.bodies("POST /api/v1/tasks/:id/pull-request")).toEqual([]);
  });

  it("finishes with an error when the app cannot open the pull request", async () => {
    app.claims.push(claimOf());
    app.pullRequestStatus = 422;
    await runOnce(settingsOf("echo again >> README.md"));
    expect(app.bodies("POST /api/v1/tasks/:id/pull-request")).toHaveLength(1);
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({
      exit_code: 0, error: "the app could not open the pull request: GitHub refused the pull request",
    });
  });

  it("runs the command in an empty folder for a task with no repository, and asks for no token", async () => {
    app.claims.push(claimOf({ noRepository: true }));
    await runOnce(settingsOf("ls -A | wc -l; pwd"));
    expect(app.bodies("POST /api/v1/tasks/:id/git-credentials")).toEqual([]);
    const finish = app.bodies("POST /api/v1/runs/:run/finish")[0] as { exit_code: number; log: string };
    expect(finish.exit_code).toBe(0);
    const sent = [...app.bodies("POST /api/v1/runs/:run/heartbeat").map((b) => (b as { log: string }).log), finish.log].join("");
    expect(sent).toMatch(/^0$/m);
    expect(sent).toContain(path.join(root, "work", "task-12"));
  });

  it("sends a large output in heartbeats of at most 256 KiB, losing nothing", async () => {
    app.claims.push(claimOf());
    await runOnce(settingsOf("i=0; while [ $i -lt 700 ]; do printf '%01000d\\n' $i; i=$((i+1)); done; exit 1"));
    const sizes = app.calls.filter((c) => typeof c.body?.log === "string").map((c) => Buffer.byteLength(c.body.log));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
    expect(app.log().split("\n").filter((line) => /^0+\d*$/.test(line))).toHaveLength(700);
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({ exit_code: 1 });
  });

  it("stops the command within seconds of a cancel from the app", async () => {
    app.claims.push(claimOf());
    app.cancelAfterHeartbeats = 2;
    const started = Date.now();
    await runOnce(settingsOf("echo started; sleep 100"));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({ exit_code: null, timed_out: false, cancelled: true });
    expect(app.log()).toContain("[runner] cancelled: cancelled by a maintainer\n");
  });

  it("stops the command when the app answers a heartbeat with 409", async () => {
    app.claims.push(claimOf());
    app.heartbeatStatus = 409;
    const started = Date.now();
    await runOnce(settingsOf("sleep 100"));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({ exit_code: null, error: expect.stringMatching(/no longer counts this run as running/) });
  });

  it("times the command out", async () => {
    app.claims.push(claimOf());
    await runOnce(settingsOf("sleep 100", { timeoutS: 1 }));
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({ exit_code: null, timed_out: true, cancelled: false });
  });

  it("finishes the run as stopped when the runner is stopped mid-run", async () => {
    app.claims.push(claimOf());
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 1500);
    await runOnce(settingsOf("sleep 100", { once: false }), stop.signal);
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({ exit_code: null, error: "the runner was stopped" });
  });

  it("refuses a clone URL off the repository's GitHub host, without asking for a token", async () => {
    app.claims.push(claimOf({ clone_url: "https://evil.example.com/o/r.git" }));
    await runOnce(settingsOf("true"));
    expect(app.bodies("POST /api/v1/tasks/:id/git-credentials")).toEqual([]);
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0]).toMatchObject({
      exit_code: null, error: "refused to clone from evil.example.com: the repository's GitHub is github.com",
    });
  });

  it("refuses a file:// clone URL unless AGENT_ALLOW_FILE_REMOTES=true", async () => {
    app.claims.push(claimOf());
    await runOnce(settingsOf("true", { allowFileRemotes: false }));
    expect(app.bodies("POST /api/v1/runs/:run/finish")[0].error).toMatch(/^refused to clone a file:\/\/ URL/);
  });
});

describe("claiming", () => {
  it("claims again after a 5xx, waiting first", async () => {
    app.claims.push(() => [503, { error: { code: "unavailable", message: "restarting" } }], claimOf());
    const { stderr } = await runOnce(settingsOf("true"));
    expect(stderr).toContain("runner: claim failed (restarting); trying again in 1 s\n");
    expect(app.bodies("POST /api/v1/runs/:run/finish")).toHaveLength(1);
  });

  it("gives up for good on a 401", async () => {
    app.claims.push(() => [401, { error: { code: "unauthorized", message: "unknown API key" } }]);
    await expect(runOnce(settingsOf("true"))).rejects.toThrow(FatalRunnerError);
  });
});
