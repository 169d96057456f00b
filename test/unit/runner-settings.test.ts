import { describe, expect, it } from "@jest/globals";
import path from "node:path";
import { PRESETS } from "../../src/runner/presets.js";
import { parseRunnerSettings, SettingsError } from "../../src/runner/settings.js";

const KEY = "oc_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const BASE = ["--url", "http://127.0.0.1:3000", "--key", KEY];

/** The error parseRunnerSettings throws for these settings. */
function refusal(argv: readonly string[], env: Record<string, string>): Error {
  try {
    parseRunnerSettings(argv, env);
  } catch (error) {
    return error as Error;
  }
  throw new Error("the settings were accepted");
}

describe("parseRunnerSettings", () => {
  it("reads the flags, with defaults for the rest", () => {
    const settings = parseRunnerSettings([...BASE, "--command", "make fix"], {});
    expect(settings).toMatchObject({
      url: "http://127.0.0.1:3000", key: KEY, command: "make fix",
      workdir: path.resolve(".agent-work"), timeoutS: 1800, allowFileRemotes: false, keepWorkspace: false, once: false,
    });
  });

  it("reads the environment when a flag is missing", () => {
    const settings = parseRunnerSettings([], {
      ENTOURAGE_URL: "https://entourage.example.com/", ENTOURAGE_API_KEY: KEY, AGENT_COMMAND: "./agent.sh",
      AGENT_WORKDIR: "/tmp/agents", AGENT_TIMEOUT_S: "60", AGENT_ALLOW_FILE_REMOTES: "true", AGENT_KEEP_WORKSPACE: "true",
    });
    expect(settings).toMatchObject({
      url: "https://entourage.example.com", command: "./agent.sh", workdir: "/tmp/agents", timeoutS: 60,
      allowFileRemotes: true, keepWorkspace: true,
    });
  });

  it("lets a flag win over its variable", () => {
    const settings = parseRunnerSettings([...BASE, "--timeout", "5", "--command", "flag"], { AGENT_TIMEOUT_S: "99", AGENT_COMMAND: "env", ENTOURAGE_URL: "http://other" });
    expect(settings).toMatchObject({ url: "http://127.0.0.1:3000", timeoutS: 5, command: "flag" });
  });

  it("expands a preset to its command line, over AGENT_COMMAND", () => {
    expect(parseRunnerSettings([...BASE, "--preset", "codex", "--once"], { AGENT_COMMAND: "ignored" })).toMatchObject({ command: PRESETS.codex.command, once: true });
  });

  it("keeps the environment it was given, for the child processes", () => {
    const env = { HOME: "/home/agent", AGENT_COMMAND: "x" };
    expect(parseRunnerSettings(BASE, env).env).toBe(env);
  });

  it.each([
    [[], {}, /^--url \(or ENTOURAGE_URL\) is required/],
    [["--url", "ftp://x", "--key", KEY, "--command", "x"], {}, /^--url: ftp:\/\/x is not an http/],
    [["--url", "http://x"], { AGENT_COMMAND: "x" }, /^--key \(or ENTOURAGE_API_KEY\) is required/],
    [["--url", "http://x", "--key", "ghp_abc", "--command", "x"], {}, /^--key: an agent API key starts with oc_/],
    [BASE, {}, /^--command \(or AGENT_COMMAND\) is required unless --preset/],
    [BASE, { AGENT_COMMAND: "  " }, /^--command \(or AGENT_COMMAND\) is required/],
    [[...BASE, "--preset", "cursor"], {}, /^--preset: cursor is not one of claude, codex, aider/],
    [[...BASE, "--preset", "claude", "--command", "x"], {}, /^--command and --preset exclude each other/],
    [[...BASE, "--command", "x", "--timeout", "0"], {}, /^--timeout \(AGENT_TIMEOUT_S\): 0 is not a positive/],
    [[...BASE, "--command", "x"], { AGENT_TIMEOUT_S: "1.5" }, /^--timeout \(AGENT_TIMEOUT_S\): 1.5/],
    [[...BASE, "--command", "x", "--verbose"], {}, /Unknown option '--verbose'/],
    [[...BASE, "--command", "x", "extra"], {}, /Unexpected argument 'extra'/],
    [[...BASE, "--once=yes", "--command", "x"], {}, /--once/],
  ])("%j %j is refused with one line naming the setting", (argv, env, message) => {
    const error = refusal(argv, env);
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("\n");
  });

  it("never puts the key in a refusal", () => {
    const error = refusal(["--url", "nope", "--key", KEY], {});
    expect(error.message).toMatch(/^--url: nope/);
    expect(error.message).not.toContain(KEY);
  });
});
