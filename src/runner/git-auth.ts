import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RunnerApi } from "./api-client.js";
import type { Env } from "./git.js";
import type { Redactor } from "./redact.js";

/** The variable that holds the token, set only in the environment of a git child process. */
export const TOKEN_VARIABLE = "ENTOURAGE_GIT_TOKEN";
const GITHUB_USERNAME = "x-access-token";
// An installation token this close to its end is replaced before use: a push may come half an hour after the clone.
const RENEW_BEFORE_MS = 5 * 60_000;

/** Git's arguments that come before the command in every authenticated call: no credential helper may store the token. */
export const NO_CREDENTIAL_HELPER = ["-c", "credential.helper="] as const;

// Git asks "Username for 'https://…': " then "Password for 'https://x-access-token@…': "; the script holds no secret.
const ASKPASS_SCRIPT = `#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' '${GITHUB_USERNAME}' ;;
  *) printf '%s\\n' "$${TOKEN_VARIABLE}" ;;
esac
`;

/** Writes the GIT_ASKPASS helper into a folder outside the workspace; returns its path. */
export async function writeAskpassScript(dir: string): Promise<string> {
  const file = path.join(dir, "askpass.sh");
  await writeFile(file, ASKPASS_SCRIPT, { mode: 0o700 });
  await chmod(file, 0o700);
  return file;
}

/** The environment of one authenticated git call: the token reaches git through askpass, never a URL or a file. */
export function authenticatedGitEnv(base: Env, askpass: string, token: string): Env {
  return { ...base, GIT_ASKPASS: askpass, [TOKEN_VARIABLE]: token, GIT_TERMINAL_PROMPT: "0" };
}

/** The task's git token, fetched from the app on first use and again when it is about to expire. */
export class GitTokenSource {
  private current?: { token: string; expiresAt: number };

  constructor(
    private readonly api: RunnerApi,
    private readonly taskId: number,
    private readonly redactor: Redactor,
    private readonly now: () => number = Date.now,
  ) {}

  async token(signal?: AbortSignal): Promise<string> {
    if (this.current && this.current.expiresAt - this.now() > RENEW_BEFORE_MS) return this.current.token;
    const { token, expires_at } = await this.api.gitCredentials(this.taskId, signal);
    // Hidden as itself and as git would send it in a Basic header.
    this.redactor.addSecret(token);
    this.redactor.addSecret(Buffer.from(`${GITHUB_USERNAME}:${token}`).toString("base64"));
    const expiresAt = Date.parse(expires_at);
    this.current = { token, expiresAt: Number.isNaN(expiresAt) ? this.now() : expiresAt };
    return token;
  }
}
