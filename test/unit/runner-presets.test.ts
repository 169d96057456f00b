import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PRESET_NAMES, PRESETS, type PresetName } from "../../src/runner/presets.js";

const KEY = "oc_presetkey0123456789abcdefghijklmnopqrstuvw";
const MCP_URL = "http://127.0.0.1:3000/mcp";
// Text from a task must reach the agent as data, never as shell: this one would leave a mark if it ran.
const PROMPT = 'Fix it "$(touch pwned)" `touch pwned` $ENTOURAGE_API_KEY; rm -rf ./* \n';

// Stands in for each CLI: records its arguments, one a line, and what it read on stdin.
const FAKE_CLI = `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > "$FAKE_OUT/args"
cat > "$FAKE_OUT/stdin"
`;

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "runner-presets-"));
  mkdirSync(path.join(root, "bin"));
  for (const name of PRESET_NAMES) writeFileSync(path.join(root, "bin", name), FAKE_CLI, { mode: 0o755 });
  writeFileSync(path.join(root, "prompt.md"), PROMPT);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs a preset's line as the runner does (sh -c, in a git checkout, stdin closed); what the fake CLI saw. */
function runPreset(name: PresetName): { args: string[]; stdin: string; workspace: string } {
  const folder = mkdtempSync(path.join(root, `${name}-`));
  const workspace = path.join(folder, "workspace");
  const out = path.join(folder, "out");
  mkdirSync(out);
  execFileSync("git", ["init", "--quiet", workspace]);
  const result = spawnSync("sh", ["-c", PRESETS[name].command], {
    cwd: workspace,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: `${path.join(root, "bin")}:${process.env.PATH}`,
      FAKE_OUT: out,
      ENTOURAGE_PROMPT_FILE: path.join(root, "prompt.md"),
      ENTOURAGE_MCP_CONFIG: path.join(root, "mcp.json"),
      ENTOURAGE_MCP_URL: MCP_URL,
      ENTOURAGE_API_KEY: KEY,
    },
  });
  expect(result.stderr.toString()).toBe("");
  expect(result.status).toBe(0);
  return {
    args: readFileSync(path.join(out, "args"), "utf8").split("\n").slice(0, -1),
    stdin: readFileSync(path.join(out, "stdin"), "utf8"),
    workspace,
  };
}

describe("presets", () => {
  it.each(PRESET_NAMES)("%s reads the prompt from $ENTOURAGE_PROMPT_FILE and splices no text into its line", (name) => {
    const { command, source } = PRESETS[name];
    expect(command).toContain('"$ENTOURAGE_PROMPT_FILE"');
    expect(command).not.toMatch(/\{\{|<prompt>|\$\{?ENTOURAGE_TASK/);
    expect(source).toMatch(/^https:\/\//);
    const { args, workspace } = runPreset(name);
    expect(args.join(" ")).not.toContain(KEY);
    expect(existsSync(path.join(workspace, "pwned"))).toBe(false);
  });

  it("claude: headless print mode, the run's MCP config only, the prompt on stdin", () => {
    const { args, stdin } = runPreset("claude");
    expect(args[0]).toBe("-p");
    expect(args).toEqual(expect.arrayContaining(["--mcp-config", path.join(root, "mcp.json"), "--strict-mcp-config", "--permission-mode", "acceptEdits"]));
    expect(args[args.indexOf("--mcp-config") + 1]).toBe(path.join(root, "mcp.json"));
    expect(args[args.indexOf("--allowedTools") + 1]).toContain("mcp__entourage");
    expect(stdin).toBe(PROMPT);
  });

  it("codex: exec with the workspace writable, the app's MCP server set for this run, the prompt on stdin", () => {
    const { args, stdin } = runPreset("codex");
    expect(args.slice(0, 3)).toEqual(["exec", "--sandbox", "workspace-write"]);
    expect(args).toEqual(expect.arrayContaining([
      "-c", `mcp_servers.entourage.url="${MCP_URL}"`,
      "-c", 'mcp_servers.entourage.bearer_token_env_var="ENTOURAGE_API_KEY"',
    ]));
    expect(args.at(-1)).toBe("-");
    expect(stdin).toBe(PROMPT);
  });

  it("aider: the prompt file as --message-file, every question answered yes, its own files kept out of git", () => {
    const { args, stdin, workspace } = runPreset("aider");
    expect(args[args.indexOf("--message-file") + 1]).toBe(path.join(root, "prompt.md"));
    expect(args).toEqual(expect.arrayContaining(["--yes-always", "--no-gitignore", "--no-check-update"]));
    expect(stdin).toBe("");
    expect(readFileSync(path.join(workspace, ".git", "info", "exclude"), "utf8")).toContain(".aider*\n");
  });

  it("are the lines docs/runner-presets.md shows, with their sources", () => {
    const doc = readFileSync(path.join(import.meta.dirname, "..", "..", "docs", "runner-presets.md"), "utf8");
    for (const name of PRESET_NAMES) {
      expect(doc).toContain(PRESETS[name].command);
      expect(doc).toContain(PRESETS[name].source);
    }
  });
});
