/**
 * The coding-agent CLIs the runner knows by name, each as its documented non-interactive command line.
 * Every line reads the prompt from $ENTOURAGE_PROMPT_FILE and the MCP settings from the environment:
 * no text of the task is ever spliced into it. docs/runner-presets.md lists them with their sources.
 */
export const PRESET_NAMES = ["claude", "codex", "aider"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  /** The `sh -c` line, run in the workspace. */
  command: string;
  /** Where its flags come from. */
  source: string;
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  // -p reads the prompt from stdin when no prompt argument is given; --strict-mcp-config ignores the user's own MCP servers.
  claude: {
    command: 'claude -p --mcp-config "$ENTOURAGE_MCP_CONFIG" --strict-mcp-config --permission-mode acceptEdits'
      + ' --allowedTools "Bash,Read,Edit,Write,mcp__entourage" --output-format text < "$ENTOURAGE_PROMPT_FILE"',
    source: "https://docs.claude.com/en/docs/claude-code/headless",
  },
  // `-` reads the instructions from stdin; -c sets config.toml keys for this run only, the key itself stays in the environment.
  codex: {
    command: 'codex exec --sandbox workspace-write -c "mcp_servers.entourage.url=\\"$ENTOURAGE_MCP_URL\\""'
      + ' -c \'mcp_servers.entourage.bearer_token_env_var="ENTOURAGE_API_KEY"\' - < "$ENTOURAGE_PROMPT_FILE"',
    source: "https://developers.openai.com/codex/noninteractive",
  },
  // Aider has no MCP client. Its own files (.aider*) are kept out of the commit through the clone's local exclude list.
  aider: {
    command: "mkdir -p .git/info && printf '.aider*\\n' >> .git/info/exclude && aider --message-file \"$ENTOURAGE_PROMPT_FILE\" --yes-always"
      + " --no-gitignore --no-check-update --no-show-release-notes --no-pretty --no-fancy-input",
    source: "https://aider.chat/docs/scripting.html",
  },
};

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}
