import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { git } from "../../src/runner/git.js";
import { withGitIdentity } from "../../src/runner/run-files.js";

/** A folder for a test's repositories, and a git environment with no user or system settings: git as a fresh machine has it. */
export function gitSandbox(label: string): { root: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(path.join(tmpdir(), `${label}-`));
  return { root, env: withGitIdentity({ PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: "1" }) };
}

/** A bare repository `<name>.git` under `root` with one commit on main (a README): a remote a run clones and pushes to. */
export async function bareRepository(root: string, env: NodeJS.ProcessEnv, name = "origin", readme = "# demo\n"): Promise<string> {
  const remote = path.join(root, `${name}.git`);
  await git(["init", "--quiet", "--bare", "--initial-branch=main", remote], { env });
  const seed = path.join(root, `${name}-seed`);
  await git(["clone", "--quiet", `file://${remote}`, seed], { env });
  writeFileSync(path.join(seed, "README.md"), readme);
  await git(["add", "-A"], { cwd: seed, env });
  await git(["commit", "--quiet", "-m", "first"], { cwd: seed, env });
  await git(["push", "--quiet", "origin", "HEAD:refs/heads/main"], { cwd: seed, env });
  return remote;
}
