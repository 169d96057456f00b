import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { authenticatedGitEnv, NO_CREDENTIAL_HELPER, writeAskpassScript } from "../../src/runner/git-auth.js";
import { git } from "../../src/runner/git.js";
import { bareRepository, gitSandbox } from "../helpers/git-remote.js";
import {
  checkBranchName, checkCloneUrl, commitLeftovers, commitsSinceStart, prepareWorkspace, pushBranch, runDir, workspaceDir, WorkspaceRefusal,
} from "../../src/runner/workspace.js";

const TOKEN = "ghs_workspaceTestToken0123456789abcdefXYZ";

describe("workspaceDir and runDir", () => {
  it("put a task's checkout and a run's files directly inside the work folder", () => {
    expect(workspaceDir("/srv/agent-work", 12)).toBe("/srv/agent-work/task-12");
    expect(runDir("/srv/agent-work", "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")).toBe("/srv/agent-work/.runs/0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  });

  it.each([0, -1, 1.5, "12", "../12", "12/../../etc", Number.NaN, null])("refuses the task id %j", (taskId) => {
    expect(() => workspaceDir("/srv/agent-work", taskId)).toThrow(WorkspaceRefusal);
  });

  it.each(["..", "../x", "a/b", "/etc", "", "-rf", "x\ny"])("refuses the run id %j", (runId) => {
    expect(() => runDir("/srv/agent-work", runId)).toThrow(WorkspaceRefusal);
  });
});

describe("checkCloneUrl", () => {
  it.each([
    ["https://github.com/o/r.git", "https://github.com", false],
    ["https://ghe.example.com/o/r.git", "https://ghe.example.com/", false],
    ["file:///srv/repos/r.git", "https://github.com", true],
  ])("accepts %s (GitHub %s, file remotes allowed: %s)", (url, github, allowFile) => {
    expect(() => checkCloneUrl(url, github, allowFile)).not.toThrow();
  });

  it.each([
    ["file:///srv/repos/r.git", "https://github.com", /file:\/\/ URL \(set AGENT_ALLOW_FILE_REMOTES=true/],
    ["http://github.com/o/r.git", "https://github.com", /only https:\/\/ on github\.com/],
    ["ssh://git@github.com/o/r.git", "https://github.com", /refused to clone ssh:/],
    ["https://evil.example.com/o/r.git", "https://github.com", /from evil\.example\.com: the repository's GitHub is github\.com/],
    ["https://github.com.evil.example/o/r.git", "https://github.com", /refused to clone from github\.com\.evil\.example/],
    ["https://github.com:8443/o/r.git", "https://github.com", /refused to clone from github\.com:8443/],
    ["https://x-access-token:abc@github.com/o/r.git", "https://github.com", /carries credentials/],
    ["ext::sh -c touch% /tmp/pwned", "https://github.com", /not a URL|refused/],
    ["--upload-pack=touch /tmp/pwned", "https://github.com", /not a URL/],
  ])("refuses %s", (url, github, message) => {
    expect(() => checkCloneUrl(url, github, false)).toThrow(message);
  });
});

describe("checkBranchName", () => {
  it.each(["entourage/task-12", "main", "release/1.2", "feature_x"])("accepts %s", (name) => {
    expect(() => checkBranchName(name)).not.toThrow();
  });

  it.each(["-f", "--upload-pack=x", "a..b", "a//b", "a/", "x.lock", "a b", "a~1", "a:b", "refs/heads/x@{0}", ""])("refuses %j", (name) => {
    expect(() => checkBranchName(name)).toThrow(WorkspaceRefusal);
  });
});

describe("the git askpass helper", () => {
  it("answers git's username and password prompts from the environment, and holds no secret itself", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "runner-askpass-"));
    try {
      const askpass = await writeAskpassScript(dir);
      expect(statSync(askpass).mode & 0o777).toBe(0o700);
      expect(readFileSync(askpass, "utf8")).not.toContain(TOKEN);
      // With no credential helper git asks GIT_ASKPASS, as it does for a clone or push over https.
      const filled = execFileSync("git", [...NO_CREDENTIAL_HELPER, "credential", "fill"], {
        input: "protocol=https\nhost=github.com\n\n",
        env: { PATH: process.env.PATH, HOME: dir, ...authenticatedGitEnv({}, askpass, TOKEN) },
      }).toString();
      expect(filled).toContain("username=x-access-token\n");
      expect(filled).toContain(`password=${TOKEN}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the workspace against a real repository", () => {
  let root: string;
  let remote: string;
  let env: NodeJS.ProcessEnv;

  /** Every file under dir, .git included. */
  function allFiles(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  }

  beforeAll(async () => {
    ({ root, env } = gitSandbox("runner-workspace"));
    remote = await bareRepository(root, env);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function prepare(taskDir: string) {
    const askpass = await writeAskpassScript(root);
    return prepareWorkspace({
      dir: taskDir, cloneUrl: `file://${remote}`, branch: "entourage/task-12", defaultBranch: "main",
      authEnv: authenticatedGitEnv(env, askpass, TOKEN),
    });
  }

  it("clones, creates the task branch from the default branch, and pushes the agent's work", async () => {
    const dir = workspaceDir(path.join(root, "work"), 12);
    const workspace = await prepare(dir);
    const mainTip = (await git(["rev-parse", "refs/heads/main"], { cwd: remote, env })).trim();
    expect(workspace.startCommit).toBe(mainTip);
    expect((await git(["branch", "--show-current"], { cwd: dir, env })).trim()).toBe("entourage/task-12");

    expect(await commitLeftovers(workspace, "Entourage task #12: Fix the README", env)).toBe(false);
    writeFileSync(path.join(dir, "README.md"), "# demo\nfixed\n");
    writeFileSync(path.join(dir, "new file.txt"), "added\n");
    expect(await commitLeftovers(workspace, "Entourage task #12: Fix the README; $(touch pwned)", env)).toBe(true);
    expect((await commitsSinceStart(workspace, env)).length).toBe(1);

    const askpass = await writeAskpassScript(root);
    await pushBranch(workspace, authenticatedGitEnv(env, askpass, TOKEN));
    const pushed = await git(["log", "--format=%s|%an", "refs/heads/entourage/task-12"], { cwd: remote, env });
    expect(pushed.split("\n")[0]).toBe("Entourage task #12: Fix the README; $(touch pwned)|Entourage agent");

    // The token is in no file of the workspace, .git/config included, nor in the remote's.
    for (const file of [...allFiles(dir), ...allFiles(remote)]) expect(readFileSync(file).includes(TOKEN)).toBe(false);
    expect(readFileSync(path.join(dir, ".git", "config"), "utf8")).toContain(`url = file://${remote}`);
  });

  it("continues the task branch a later run finds on the remote, and replaces a leftover checkout", async () => {
    const dir = workspaceDir(path.join(root, "work"), 12);
    writeFileSync(path.join(dir, "leftover.txt"), "from the last run\n");
    const branchTip = (await git(["rev-parse", "refs/heads/entourage/task-12"], { cwd: remote, env })).trim();
    const workspace = await prepare(dir);
    expect(workspace.startCommit).toBe(branchTip);
    expect(readFileSync(path.join(dir, "README.md"), "utf8")).toBe("# demo\nfixed\n");
    expect(readdirSync(dir)).not.toContain("leftover.txt");
    expect(await commitsSinceStart(workspace, env)).toEqual([]);

    await git(["commit", "--quiet", "--allow-empty", "-m", "second pass"], { cwd: dir, env });
    expect((await commitsSinceStart(workspace, env)).length).toBe(1);
    const askpass = await writeAskpassScript(root);
    await pushBranch(workspace, authenticatedGitEnv(env, askpass, TOKEN));
    expect((await git(["log", "--format=%s", "-1", "refs/heads/entourage/task-12"], { cwd: remote, env })).trim()).toBe("second pass");
  });

  it("fails with git's own words when the clone fails", async () => {
    const askpass = await writeAskpassScript(root);
    await expect(prepareWorkspace({
      dir: path.join(root, "work", "task-99"), cloneUrl: `file://${root}/missing.git`, branch: "entourage/task-99", defaultBranch: "main",
      authEnv: authenticatedGitEnv(env, askpass, TOKEN),
    })).rejects.toThrow(/git clone failed: .*missing\.git/);
  });
});
