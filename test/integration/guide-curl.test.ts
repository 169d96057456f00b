import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, pullRequestOpened } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);

// The guide's commands, copied as printed (../shared/seed/webhook-automation-guide.txt).
const GUIDE = {
  listWithApiKey: `curl -X GET http://localhost:8000/api/v1/webhooks \\
  -H "X-API-Key: oc_your_key_here"`,
  listWithBearer: `curl -X GET http://localhost:8000/api/v1/webhooks \\
  -H "Authorization: Bearer eyJhbGciOiJIUzI1NiIs..."`,
  register: `curl -X POST http://localhost:8000/api/v1/webhooks \\
  -H "Content-Type: application/json" \\
  -H "X-API-Key: oc_your_key_here" \\
  -d '{
    "org_id": "{org_id}",
    "team_id": "{team_id}",
    "name": "GitHub Issues + PRs",
    "provider": "github",
    "events": ["issues", "pull_request"],
    "config": {
      "auto_assign": true
    }
  }'`,
  deliveries: `curl http://localhost:8000/api/v1/webhooks/{webhook_id}/deliveries \\
  -H "X-API-Key: oc_your_key_here"`,
  filter: `curl -X PATCH http://localhost:8000/api/v1/webhooks/{webhook_id} \\
  -H "Content-Type: application/json" \\
  -H "X-API-Key: oc_your_key_here" \\
  -d '{"events": ["issues.opened"]}'`,
  status: `curl http://localhost:8000/api/v1/webhooks/{webhook_id} \\
  -H "X-API-Key: oc_your_key_here"`,
  regenerate: `curl -X POST http://localhost:8000/api/v1/webhooks/{webhook_id}/regenerate-secret \\
  -H "X-API-Key: oc_your_key_here"`,
  signature: `import hmac
import hashlib

def compute_signature(secret: str, payload: bytes) -> str:
    """Compute HMAC-SHA256 signature for webhook payload."""
    mac = hmac.new(
        secret.encode("utf-8"),
        msg=payload,
        digestmod=hashlib.sha256,
    )
    return f"sha256={mac.hexdigest()}"

# When sending a webhook to Entourage:
signature = compute_signature("whsec_abc123...", request_body)
headers = {
    "X-Hub-Signature-256": signature,
    "Content-Type": "application/json",
}`,
};

/** Splits a shell command the way sh would for what the guide uses: quotes, backslash-newline, whitespace. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "\\" && command[i + 1] === "\n") {
      i++;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word = (word ?? "") + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; command[i] !== '"'; i++) {
        if (command[i] === "\\" && ['"', "\\", "$", "`"].includes(command[i + 1]!)) i++;
        word += command[i];
      }
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

let rt: TestRuntime;
let acme: Tenant;
let base: string;
let workDir: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  rt = await startTestRuntime({ label: "guide_curl" });
  acme = await createTenant(rt, "acme");
  await rt.server.listen({ port: 0, host: "127.0.0.1" });
  const address = rt.server.server.address();
  if (!address || typeof address === "string") throw new Error("the server has no TCP address");
  base = `http://127.0.0.1:${address.port}`;
  workDir = mkdtempSync(path.join(tmpdir(), "guide-curl-"));
  ids.org_id = acme.orgId;
  ids.team_id = acme.teamId;
});
afterAll(async () => {
  await rt?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface CurlResult {
  status: number;
  body: string;
  json: any;
}

/** Runs a guide command with only the host, the ids and the credentials substituted. */
async function guideCurl(command: string, credentials: { key?: string; token?: string } = {}): Promise<CurlResult> {
  let text = command.replaceAll("http://localhost:8000", base).replaceAll("oc_your_key_here", credentials.key ?? acme.apiKey);
  if (credentials.token) text = text.replaceAll("eyJhbGciOiJIUzI1NiIs...", credentials.token);
  for (const [name, value] of Object.entries(ids)) text = text.replaceAll(`{${name}}`, value);
  const [program, ...args] = shellWords(text);
  expect(program).toBe("curl");
  return curl(args);
}

async function curl(args: string[]): Promise<CurlResult> {
  const { stdout } = await run("curl", [...args, "--silent", "--show-error", "--write-out", "\n%{http_code}"]);
  const split = stdout.lastIndexOf("\n");
  const body = stdout.slice(0, split);
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: Number(stdout.slice(split + 1)), body, json };
}

/** The headers the guide's Python snippet computes for `body` with `secret`, by running it with python3. */
async function pythonHeaders(secret: string, bodyFile: string): Promise<Record<string, string>> {
  const script = [
    "import json, sys",
    "request_body = open(sys.argv[1], 'rb').read()",
    GUIDE.signature.replace('"whsec_abc123..."', JSON.stringify(secret)),
    "print(json.dumps(headers))",
  ].join("\n");
  const { stdout } = await run("python3", ["-c", script, bodyFile]);
  return JSON.parse(stdout) as Record<string, string>;
}

/** Sends a delivery the way a custom integration does: signed by the guide's Python code, posted with curl. */
async function sendSigned(secret: string, event: string, payload: unknown): Promise<CurlResult> {
  const bodyFile = path.join(workDir, `${randomUUID()}.json`);
  writeFileSync(bodyFile, JSON.stringify(payload, null, 2));
  const headers = await pythonHeaders(secret, bodyFile);
  return curl([
    "-X", "POST", `${base}/api/v1/webhooks/${ids.webhook_id}/receive`,
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    "-H", `X-GitHub-Event: ${event}`,
    "-H", `X-GitHub-Delivery: ${randomUUID()}`,
    "--data-binary", `@${bodyFile}`,
  ]);
}

describe("the guide's curl examples against a live server", () => {
  let secret: string;

  it("Step 1: registers the webhook with the guide's exact body", async () => {
    const res = await guideCurl(GUIDE.register);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      id: expect.any(String), org_id: acme.orgId, team_id: acme.teamId, name: "GitHub Issues + PRs", provider: "github",
      events: ["issues", "pull_request"], config: { auto_assign: true }, active: true,
    });
    expect(res.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    ids.webhook_id = res.json.id;
    secret = res.json.secret;
  });

  it("Authentication: lists webhooks with X-API-Key", async () => {
    const res = await guideCurl(GUIDE.listWithApiKey);
    expect(res.status).toBe(200);
    expect(res.json.data.map((w: { id: string }) => w.id)).toEqual([ids.webhook_id]);
    expect(res.body).not.toContain(secret);
    const refused = await guideCurl(GUIDE.listWithApiKey, { key: "oc_not_a_real_key" });
    expect(refused.status).toBe(401);
  });

  it("Authentication: lists webhooks with a JWT bearer token from POST /api/v1/auth/token", async () => {
    const token = await curl(["-X", "POST", `${base}/api/v1/auth/token`, "-H", `X-API-Key: ${acme.apiKey}`]);
    expect(token.status).toBe(200);
    expect(token.json.token).toMatch(/^eyJ/);
    const res = await guideCurl(GUIDE.listWithBearer, { token: token.json.token });
    expect(res.status).toBe(200);
    expect(res.json.data.map((w: { id: string }) => w.id)).toEqual([ids.webhook_id]);
    const refused = await guideCurl(GUIDE.listWithBearer, { token: `${token.json.token}x` });
    expect(refused.status).toBe(401);
  });

  it("Step 3: a delivery signed as the guide's Python snippet does shows in the deliveries list, and its task exists", async () => {
    const sent = await sendSigned(secret, "issues", issueOpened({
      number: 42, title: "Login broken on Safari", body: "Safari 17 shows a blank page", labels: ["critical", "auth"], installationId: null,
    }));
    expect(sent.status).toBe(202);
    expect(sent.json).toEqual({ delivery_id: expect.any(String), status: "received" });

    const delivery = await waitFor(async () => {
      const res = await guideCurl(GUIDE.deliveries);
      expect(res.status).toBe(200);
      const first = res.json.data[0];
      return first?.status === "processed" ? first : undefined;
    }, 10_000, "the delivery to be processed");
    expect(delivery).toMatchObject({
      id: sent.json.delivery_id, event_type: "issues.opened", status: "processed",
      payload_summary: { action: "opened", issue: { title: "Login broken on Safari" } },
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const task = await curl([`${base}/api/v1/tasks/${delivery.task_id}`, "-H", `X-API-Key: ${acme.apiKey}`]);
    expect(task.status).toBe(200);
    expect(task.json).toMatchObject({
      title: "[GitHub] Login broken on Safari", priority: "critical", status: "todo", tags: ["github", "issue", "critical", "auth"],
    });
    expect(task.json.description).toMatch(/^GitHub Issue #42\n\nSafari 17 shows a blank page/);
  });

  it("refuses a delivery whose signature the snippet computed with another secret", async () => {
    const res = await sendSigned("whsec_abc123...", "issues", issueOpened({ installationId: null }));
    expect(res.status).toBe(401);
  });

  it("Filtering events: after the PATCH a pull_request delivery is logged as ignored", async () => {
    const res = await guideCurl(GUIDE.filter);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: ids.webhook_id, events: ["issues.opened"] });
    expect(res.json).not.toHaveProperty("secret");

    const sent = await sendSigned(secret, "pull_request", pullRequestOpened({ number: 99, title: "Add rate limiting", installationId: null }));
    expect(sent.status).toBe(202);
    expect(sent.json.status).toBe("ignored");
    const listed = await guideCurl(GUIDE.deliveries);
    expect(listed.json.data[0]).toMatchObject({
      id: sent.json.delivery_id, event_type: "pull_request.opened", status: "ignored",
      action_taken: "ignored: event pull_request.opened is not in the webhook's events", task_id: null,
    });
  });

  it("Monitoring: shows the webhook and lists all deliveries", async () => {
    const hook = await guideCurl(GUIDE.status);
    expect(hook.status).toBe(200);
    expect(hook.json).toMatchObject({ id: ids.webhook_id, name: "GitHub Issues + PRs", events: ["issues.opened"], active: true });
    expect(hook.body).not.toContain(secret);
    const all = await guideCurl(GUIDE.deliveries);
    expect(all.status).toBe(200);
    expect(all.json.data.map((d: { status: string }) => d.status)).toEqual(["ignored", "processed"]);
  });

  it("Regenerate secret: the new secret works and the old one is refused", async () => {
    const res = await guideCurl(GUIDE.regenerate);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: ids.webhook_id, secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) });
    expect(res.json.secret).not.toBe(secret);

    expect((await sendSigned(secret, "issues", issueOpened({ number: 43, installationId: null }))).status).toBe(401);
    const fresh = await sendSigned(res.json.secret, "issues", issueOpened({ number: 43, installationId: null }));
    expect(fresh.status).toBe(202);
  });
});

describe("the README's Try it commands against a live server", () => {
  /** The shell blocks of the README's "Try it" section, as printed. */
  function tryItBlocks(): string[] {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("\n## Try it\n"), readme.indexOf("\n## Registering the GitHub App\n"));
    return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) => block!);
  }

  /** Runs a block with bash in the repository's folder, as a reader pasting it would, on this test's server. */
  async function bash(block: string, substitutions: Record<string, string>): Promise<string[]> {
    let script = block.replaceAll("localhost:3000", base.replace("http://", ""));
    for (const [placeholder, value] of Object.entries(substitutions)) script = script.replaceAll(placeholder, value);
    const { stdout } = await run("bash", ["-e", "-c", script], { env: { PATH: process.env.PATH ?? "", KEY: acme.apiKey } });
    return stdout.trim().split("\n");
  }

  it("registers a webhook, signs and sends both example payloads with openssl and curl --data-binary, and they become tasks", async () => {
    const [register, send] = tryItBlocks();
    expect(send).toContain("--data-binary");
    const [answer] = await bash(register!, { "<team_id>": acme.teamId });
    const webhook = JSON.parse(answer!);
    expect(webhook.secret).toMatch(/^whsec_/);

    const [issue, pr, deliveries] = await bash(send!, { "<id>": webhook.id, "<secret>": webhook.secret });
    expect(JSON.parse(issue!)).toEqual({ delivery_id: expect.any(String), status: "received" });
    expect(JSON.parse(pr!)).toEqual({ delivery_id: expect.any(String), status: "received" });
    expect(JSON.parse(deliveries!).data).toHaveLength(2);

    const processed = await waitFor(async () => {
      const res = await curl([`${base}/api/v1/webhooks/${webhook.id}/deliveries`, "-H", `X-API-Key: ${acme.apiKey}`]);
      const data = res.json.data as { status: string; event_type: string; task_id: number }[];
      return data.every((d) => d.status === "processed") ? data : undefined;
    }, 15_000, "both example deliveries to be processed");
    const tasks = await Promise.all(processed.map(async (d) =>
      (await curl([`${base}/api/v1/tasks/${d.task_id}`, "-H", `X-API-Key: ${acme.apiKey}`])).json));
    expect(tasks.map((t) => [t.title, t.priority, t.tags]).sort()).toEqual([
      ["[GitHub PR] Add rate limiting", "medium", ["github", "pull_request"]],
      ["[GitHub] Login broken on Safari", "critical", ["github", "issue", "critical", "auth"]],
    ]);
  });

  it("ships example payloads that are GitHub's shape, end with a newline, and are refused when posted with -d", async () => {
    const [register, send] = tryItBlocks();
    const webhook = JSON.parse((await bash(register!, { "<team_id>": acme.teamId }))[0]!);
    for (const file of ["examples/issue-opened.json", "examples/pull-request-opened.json"]) {
      const text = readFileSync(file, "utf8");
      expect(text.endsWith("}\n")).toBe(true);
      expect(JSON.parse(text)).toMatchObject({ action: "opened", repository: { full_name: "octo-org/storefront" }, sender: { type: "User" } });
    }
    // -d drops the newlines the signature covered: the receiver sees other bytes and refuses them.
    const [refused] = await bash(send!.replace('--data-binary "@$2"', '-d "@$2"'), { "<id>": webhook.id, "<secret>": webhook.secret });
    expect(JSON.parse(refused!).error).toEqual({ code: "unauthorized", message: expect.stringContaining("X-Hub-Signature-256") });
  });
});
