import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "../helpers/wait.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SERVER = path.join(ROOT, "dist/index.js");
const DEMO = path.join(ROOT, "dist/cli/demo.js");
const START_TIMEOUT_MS = 120_000;

let folder: string;
let port: number;
let server: ChildProcess;
let serverOutput = "";

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port: free } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

/** Only what a fresh machine has: no DATABASE_URL, REDIS_URL or App credentials. */
function bareEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: folder, ...extra };
}

function runDemo(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEMO], { cwd: folder, env: bareEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(SERVER) || !existsSync(DEMO)) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  folder = mkdtempSync(path.join(tmpdir(), "entourage-demo-"));
  port = await freePort();
  server = spawn(process.execPath, [SERVER], {
    cwd: folder,
    env: bareEnv({ PORT: String(port), HOST: "127.0.0.1", DATA_DIR: path.join(folder, ".data"), LOG_LEVEL: "info" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (chunk: Buffer) => (serverOutput += chunk.toString()));
  server.stderr!.on("data", (chunk: Buffer) => (serverOutput += chunk.toString()));
  await waitFor(async () => {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}:\n${serverOutput}`);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
    return res.ok;
  }, START_TIMEOUT_MS, "the app to start");
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    const force = setTimeout(() => server.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(force);
  }
  if (folder) rmSync(folder, { recursive: true, force: true });
}, 30_000);

describe("`npm start` with no GitHub App credentials", () => {
  it("answers the App endpoint 503 with a JSON error, and logs one line saying where to register the App", async () => {
    const body = "{}";
    const res = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": "first-run", "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
      body,
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: "app_not_configured", message: expect.stringContaining("/setup") } });
    const telling = serverOutput.split("\n").filter((line) => line.includes("/setup"));
    expect(telling).toHaveLength(1);
    expect(JSON.parse(telling[0]!)).toMatchObject({
      level: 40,
      msg: `the GitHub App is not configured: register it at http://localhost:${port}/setup or set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET`,
    });
  });
});

describe("npm run demo against `npm start` on the embedded default", () => {
  it("creates a team, an agent and a webhook, sends the guide's issue and PR, and prints the delivery log and the tasks", async () => {
    const { code, stdout, stderr } = await runDemo({ PORT: String(port), DATA_DIR: path.join(folder, ".data") });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });

    expect(stdout).toMatch(/^1\. Team +Demo [0-9a-f]{6} /m);
    expect(stdout).toMatch(/^2\. Agent +demo-engineer \(engineer, idle\)/m);
    expect(stdout).toMatch(/^3\. Webhook +GitHub Issues \+ PRs /m);
    expect(stdout).toMatch(/^issues\.opened +processed +#\d+ /m);
    expect(stdout).toMatch(/^pull_request\.opened +processed +#\d+ /m);
    expect(stdout).toMatch(/^#\d+ +\[GitHub\] Login broken on Safari +critical +\S+ +\S+ +github, issue, critical, auth$/m);
    expect(stdout).toMatch(/^#\d+ +\[GitHub PR\] Add rate limiting +medium +\S+ +\S+ +github, pull_request$/m);
    // auto_assign: the team's one idle agent takes one of the two tasks.
    expect(stdout.match(/ demo-engineer +github,/g)).toHaveLength(1);

    const adminKey = readFileSync(path.join(folder, ".data", "admin-api-key"), "utf8").trim();
    expect(stdout).not.toContain(adminKey);
    expect(stdout).not.toContain("whsec_");
    expect(serverOutput).not.toContain(adminKey);
  }, 60_000);

  it("runs again into a new team with new tasks", async () => {
    const { code, stdout } = await runDemo({ PORT: String(port), DATA_DIR: path.join(folder, ".data") });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^#\d+ +\[GitHub\] Login broken on Safari +critical /m);
  }, 60_000);

  it("takes the key from ENTOURAGE_API_KEY", async () => {
    const { code, stderr } = await runDemo({ PORT: String(port), ENTOURAGE_API_KEY: "oc_not-a-key-of-this-app" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^demo: GET \/api\/v1\/api-keys\?limit=1 answered 401: unauthorized/);
  }, 60_000);

  it("exits 1 with a clear message when no app answers", async () => {
    const { code, stderr } = await runDemo({ PORT: String(await freePort()), ENTOURAGE_API_KEY: "oc_whatever" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^demo: no Entourage app answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it with `npm start`/);
  }, 60_000);
});
