import { afterEach, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

// The built entry, as `npm run agent` starts it (npm run build first).
const CLI = path.resolve(import.meta.dirname, "..", "..", "dist", "cli", "agent.js");
const KEY = "oc_cliTestKey0123456789abcdefghijklmnopqrstuvw";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** An app whose claim route always answers with this status and body. */
async function appAnswering(status: number, body: unknown): Promise<string> {
  server = createServer((_req, res) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Runs the CLI; when `whenOutput` shows on stderr, sends SIGTERM. */
function runCli(args: string[], env: Record<string, string> = {}, whenOutput?: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH!, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (whenOutput?.test(stderr)) child.kill("SIGTERM");
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("npm run agent", () => {
  it.each([
    [[], /^runner: --url \(or ENTOURAGE_URL\) is required/],
    [["--url", "http://127.0.0.1:1", "--key", KEY], /^runner: --command \(or AGENT_COMMAND\) is required unless --preset/],
    [["--url", "http://127.0.0.1:1", "--key", KEY, "--preset", "gpt"], /^runner: --preset: gpt is not one of claude, codex, aider/],
  ])("exits 2 with one line on stderr for %j", async (args, message) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("exits 2 when the app refuses the key", async () => {
    const url = await appAnswering(401, { error: { code: "unauthorized", message: "unknown API key" } });
    const { code, stderr } = await runCli(["--url", url, "--key", KEY, "--command", "true"]);
    expect(code).toBe(2);
    expect(stderr).toContain("runner: the app refused the key (401): unknown API key\n");
    expect(stderr).not.toContain(KEY);
    expect(stderr).not.toContain("    at ");
  });

  it("stops cleanly on SIGTERM while it waits for work", async () => {
    const url = await appAnswering(200, { run: null });
    const { code, stderr } = await runCli(["--command", "true"], { ENTOURAGE_URL: url, ENTOURAGE_API_KEY: KEY }, /waiting for work/);
    expect(code).toBe(0);
    expect(stderr).toContain("runner: SIGTERM: stopping\n");
    expect(stderr).toContain("runner: stopped\n");
  });
});
