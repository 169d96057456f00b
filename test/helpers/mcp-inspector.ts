import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const INSPECTOR_PACKAGES = ["node@22", "@modelcontextprotocol/inspector@2"];

export type Inspector = { node: string; cli: string } | { unavailable: string };

/**
 * The MCP Inspector's CLI and the Node 22 it needs (this machine runs Node 20), installed from the npm
 * registry into a tool folder that later runs reuse (MCP_INSPECTOR_DIR, default under the system's tmp).
 */
export async function prepareInspector(): Promise<Inspector> {
  const dir = process.env.MCP_INSPECTOR_DIR ?? path.join(tmpdir(), "entourage-mcp-inspector-2");
  const node = path.join(dir, "node_modules", "node", "bin", "node");
  const cli = path.join(dir, "node_modules", "@modelcontextprotocol", "inspector", "clients", "launcher", "build", "index.js");
  if (!existsSync(node) || !existsSync(cli)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "mcp-inspector-tools", private: true }));
    try {
      await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...INSPECTOR_PACKAGES], { cwd: dir, timeout: 300_000 });
    } catch (error) {
      return { unavailable: `npm could not install ${INSPECTOR_PACKAGES.join(" and ")}: ${String((error as Error).message).split("\n")[0]}` };
    }
  }
  if (!existsSync(node) || !existsSync(cli)) return { unavailable: `the npm packages ${INSPECTOR_PACKAGES.join(", ")} installed without ${existsSync(node) ? cli : node}` };
  try {
    const { stdout } = await run(node, ["--version"], { timeout: 30_000 });
    if (!/^v22\./.test(stdout.trim())) return { unavailable: `${node} is ${stdout.trim()}, not Node 22` };
  } catch (error) {
    return { unavailable: `the Node 22 binary of the npm package node@22 does not run here: ${(error as Error).message.split("\n")[0]}` };
  }
  return { node, cli };
}

/** Runs `mcp-inspector --cli <args>` under Node 22; resolves with its stdout. */
export async function runInspector(inspector: { node: string; cli: string }, args: string[]): Promise<string> {
  const { stdout } = await run(inspector.node, [inspector.cli, "--cli", ...args], { timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } });
  return stdout;
}
