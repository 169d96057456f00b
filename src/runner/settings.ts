import path from "node:path";
import { parseArgs } from "node:util";
import { isPresetName, PRESET_NAMES, PRESETS } from "./presets.js";

/** What one runner needs to know, from its flags and environment; parsed once at start. */
export interface RunnerSettings {
  /** The app's base URL, without a trailing slash. */
  url: string;
  /** The agent's API key (oc_…). */
  key: string;
  /** The `sh -c` line that runs the coding agent. */
  command: string;
  /** Absolute; every workspace and run folder lives under it. */
  workdir: string;
  timeoutS: number;
  allowFileRemotes: boolean;
  keepWorkspace: boolean;
  once: boolean;
  /** The environment the runner started with: the base of every child process's environment. */
  env: Readonly<Record<string, string | undefined>>;
}

/** Bad or missing settings: printed as one line, exit code 2. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

export const RUNNER_USAGE = `usage: npm run agent -- --url <app url> --key <oc_…> (--command <shell line> | --preset ${PRESET_NAMES.join("|")})
  [--workdir <dir>] [--timeout <seconds>] [--once]
  each flag may come from the environment instead: ENTOURAGE_URL, ENTOURAGE_API_KEY, AGENT_COMMAND, AGENT_WORKDIR, AGENT_TIMEOUT_S`;

const DEFAULT_WORKDIR = "./.agent-work";
const DEFAULT_TIMEOUT_S = 1800;

/** A flag wins over its variable; an empty value counts as unset. */
function pick(flag: string | undefined, variable: string | undefined): string | undefined {
  const value = flag ?? variable;
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function readFlags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string" },
        key: { type: "string" },
        command: { type: "string" },
        preset: { type: "string" },
        workdir: { type: "string" },
        timeout: { type: "string" },
        once: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    throw new SettingsError((error as Error).message);
  }
}

function appUrl(value: string | undefined): string {
  if (value === undefined) throw new SettingsError("--url (or ENTOURAGE_URL) is required: the app's base URL, e.g. http://127.0.0.1:3000");
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) throw new SettingsError(`--url: ${value} is not an http:// or https:// URL`);
  return value.replace(/\/+$/, "");
}

function apiKey(value: string | undefined): string {
  if (value === undefined) throw new SettingsError("--key (or ENTOURAGE_API_KEY) is required: the agent's API key");
  if (!value.startsWith("oc_")) throw new SettingsError("--key: an agent API key starts with oc_");
  return value;
}

function agentCommand(command: string | undefined, preset: string | undefined, envCommand: string | undefined): string {
  if (command !== undefined && preset !== undefined) throw new SettingsError("--command and --preset exclude each other: give one");
  if (preset !== undefined) {
    if (!isPresetName(preset)) throw new SettingsError(`--preset: ${preset} is not one of ${PRESET_NAMES.join(", ")}`);
    return PRESETS[preset].command;
  }
  const line = command ?? envCommand;
  if (line === undefined) throw new SettingsError(`--command (or AGENT_COMMAND) is required unless --preset ${PRESET_NAMES.join("|")} is given`);
  return line;
}

function timeoutSeconds(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_S;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new SettingsError(`--timeout (AGENT_TIMEOUT_S): ${value} is not a positive whole number of seconds`);
  return Number(value);
}

/** The runner's settings from its arguments and environment; throws SettingsError naming the flag at fault. */
export function parseRunnerSettings(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RunnerSettings {
  const flags = readFlags(argv);
  return {
    url: appUrl(pick(flags.url, env.ENTOURAGE_URL)),
    key: apiKey(pick(flags.key, env.ENTOURAGE_API_KEY)),
    command: agentCommand(pick(flags.command, undefined), pick(flags.preset, undefined), pick(undefined, env.AGENT_COMMAND)),
    workdir: path.resolve(pick(flags.workdir, env.AGENT_WORKDIR) ?? DEFAULT_WORKDIR),
    timeoutS: timeoutSeconds(pick(flags.timeout, env.AGENT_TIMEOUT_S)),
    allowFileRemotes: env.AGENT_ALLOW_FILE_REMOTES === "true",
    keepWorkspace: env.AGENT_KEEP_WORKSPACE === "true",
    once: flags.once === true,
    env,
  };
}
