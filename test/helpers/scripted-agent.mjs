// A coding agent for tests, started by the runner like Claude Code or Codex would be: it reads its task
// through the MCP configuration it was given, reports progress, writes a file and commits it.
// SCRIPTED_AGENT picks what it does:
//   fix (default)  the above, then exits 0
//   fail           prints an error and exits 3
//   idle           exits 0 without touching anything
//   slow-fix       works for SCRIPTED_AGENT_DELAY_MS (default 3000), printing as it goes, then fixes
//   hang           prints forever, with a child process of its own (sleep SCRIPTED_AGENT_SLEEP_S), until it is killed
// SCRIPTED_AGENT_PRINT_ENV=1 prints its environment's names (never values), to show what it was given.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const mode = process.env.SCRIPTED_AGENT ?? "fix";
const taskId = Number(process.env.ENTOURAGE_TASK_ID);

async function connect() {
  const config = JSON.parse(readFileSync(process.env.ENTOURAGE_MCP_CONFIG, "utf8"));
  const server = config.mcpServers.entourage;
  const client = new Client({ name: "scripted-agent", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.headers } }));
  return client;
}

async function fix() {
  const client = await connect();
  const detail = await client.callTool({ name: "get_task", arguments: { task_id: taskId } });
  const task = detail.structuredContent;
  console.log(`read task #${task.id}: ${task.title}`);
  const prompt = readFileSync(process.env.ENTOURAGE_PROMPT_FILE, "utf8");
  await client.callTool({ name: "report_progress", arguments: { task_id: taskId, message: "Wrote FIXED.md with the fix." } });
  await client.close();
  writeFileSync(`FIXED-${taskId}.md`, `Fixed: ${task.github?.title ?? task.title}\n\nPrompt first line: ${prompt.split("\n")[0]}\nRun: ${process.env.ENTOURAGE_RUN_ID}\n`);
  execFileSync("git", ["add", `FIXED-${taskId}.md`]);
  const feedback = prompt.includes("## Review feedback");
  execFileSync("git", ["commit", "-q", "-m", feedback ? `Address the review of task #${taskId}` : `Fix task #${taskId}`]);
  console.log("committed the fix");
}

if (process.env.SCRIPTED_AGENT_PRINT_ENV === "1") console.log(`env: ${Object.keys(process.env).sort().join(" ")}`);
if (mode === "fail") {
  console.error("the tests still fail; giving up");
  process.exit(3);
} else if (mode === "idle") {
  console.log("nothing to do");
} else if (mode === "hang") {
  spawn("sleep", [process.env.SCRIPTED_AGENT_SLEEP_S ?? "1000"], { stdio: "ignore" });
  for (;;) {
    console.log("still working");
    await sleep(300);
  }
} else {
  if (mode === "slow-fix") {
    const until = Date.now() + Number(process.env.SCRIPTED_AGENT_DELAY_MS ?? 3000);
    while (Date.now() < until) {
      console.log("thinking");
      await sleep(200);
    }
  }
  await fix();
}
