import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadClientConfig, loadEnvFile, type ClientConfig } from "../config.js";
import { sha256Signature } from "../crypto/sha256-signature.js";
import { ADMIN_KEY_FILE } from "../first-run.js";
import { formatTable } from "./table.js";

/** A failure the user can act on: printed as one line, exit code 1. */
class DemoError extends Error {}

const REQUEST_TIMEOUT_MS = 10_000;
const PROCESSING_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

interface Delivery {
  id: string;
  event_type: string;
  status: string;
  action_taken: string | null;
  task_id: number | null;
  error: string | null;
}

interface Task {
  id: number;
  title: string;
  priority: string;
  status: string;
  tags: string[];
  assignee_id: string | null;
}

interface Page<T> {
  data: T[];
}

class Api {
  constructor(private readonly url: string, private readonly apiKey: string) {}

  async request<T>(method: string, route: string, options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<T> {
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    let response: Response;
    try {
      response = await fetch(`${this.url}${route}`, {
        method,
        headers: {
          "x-api-key": this.apiKey,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new DemoError(`no Entourage app answers at ${this.url} (${causeOf(error)}): start it with \`npm start\`, `
        + "or set PORT and HOST to where it listens");
    }
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const hint = response.status === 401 ? " (is ENTOURAGE_API_KEY, or DATA_DIR/admin-api-key, a key of this app?)" : "";
      throw new DemoError(`${method} ${route} answered ${response.status}: ${error?.code ?? "error"}: ${error?.message ?? text}${hint}`);
    }
    return json as T;
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function apiKeyOf(config: ClientConfig): string {
  if (config.apiKey) return config.apiKey;
  const file = path.resolve(config.dataDir, ADMIN_KEY_FILE);
  if (!existsSync(file)) {
    throw new DemoError(`no API key: set ENTOURAGE_API_KEY, or run the demo where the app's DATA_DIR is (no ${file}; the first \`npm start\` writes it)`);
  }
  return readFileSync(file, "utf8").trim();
}

function repositoryPayload(fullName: string) {
  const [owner, name] = fullName.split("/") as [string, string];
  return {
    id: 1296269,
    name,
    full_name: fullName,
    private: false,
    html_url: `https://github.com/${fullName}`,
    owner: { login: owner, type: "Organization" },
  };
}

const sender = { login: "octocat", id: 583231, type: "User" };

/** The guide's example issue: #42 "Login broken on Safari", labels critical and auth. */
function issueOpened(repository: string) {
  return {
    action: "opened",
    issue: {
      number: 42,
      title: "Login broken on Safari",
      body: "Users on Safari 17 cannot log in: the form submits and the page reloads empty.",
      state: "open",
      html_url: `https://github.com/${repository}/issues/42`,
      labels: [{ name: "critical", color: "b60205" }, { name: "auth", color: "1d76db" }],
      user: sender,
    },
    repository: repositoryPayload(repository),
    sender,
  };
}

/** The guide's example pull request: #99 "Add rate limiting". */
function pullRequestOpened(repository: string) {
  return {
    action: "opened",
    number: 99,
    pull_request: {
      number: 99,
      title: "Add rate limiting",
      body: "Limits the login endpoint to 10 attempts a minute per address.",
      state: "open",
      draft: false,
      merged: false,
      html_url: `https://github.com/${repository}/pull/99`,
      labels: [],
      user: sender,
      head: { ref: "rate-limiting" },
      base: { ref: "main" },
    },
    repository: repositoryPayload(repository),
    sender,
  };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<boolean> {
  loadEnvFile();
  const config = loadClientConfig();
  const api = new Api(config.url, apiKeyOf(config));
  const out = (line = "") => process.stdout.write(`${line}\n`);

  out(`Entourage demo against ${config.url}`);
  out();
  await api.request("GET", "/api/v1/health");
  const keys = await api.request<Page<{ org_id: string }>>("GET", "/api/v1/api-keys?limit=1");
  const orgId = keys.data[0]?.org_id;
  if (!orgId) throw new DemoError("the API key's organization could not be found");

  const suffix = randomBytes(3).toString("hex");
  const team = await api.request<{ id: string; name: string; slug: string }>("POST", `/api/v1/orgs/${orgId}/teams`, {
    body: { name: `Demo ${suffix}`, slug: `demo-${suffix}` },
  });
  out(`1. Team        ${team.name} (${team.id}) in organization ${orgId}`);
  const agent = await api.request<{ id: string; name: string; role: string; status: string }>("POST", `/api/v1/teams/${team.id}/agents`, {
    body: { name: "demo-engineer", role: "engineer" },
  });
  out(`2. Agent       ${agent.name} (${agent.role}, ${agent.status})`);

  // The guide's Step 1.
  const webhook = await api.request<{ id: string; name: string; secret: string; events: string[] }>("POST", "/api/v1/webhooks", {
    body: {
      org_id: orgId,
      team_id: team.id,
      name: "GitHub Issues + PRs",
      provider: "github",
      events: ["issues", "pull_request"],
      config: { auto_assign: true },
    },
  });
  out(`3. Webhook     ${webhook.name} (${webhook.id}), events ${webhook.events.join(", ")}, auto_assign on`);

  // A repository of this run's own, so that running the demo again makes new tasks.
  const repository = `entourage-demo/${team.slug}`;
  const sent: { label: string; deliveryId: string }[] = [];
  out(`4. Sent to     POST /api/v1/webhooks/${webhook.id}/receive, signed with the webhook's secret (X-Hub-Signature-256):`);
  for (const [event, payload, label] of [
    ["issues", issueOpened(repository), "issue #42 \"Login broken on Safari\" [critical, auth]"],
    ["pull_request", pullRequestOpened(repository), "PR #99 \"Add rate limiting\""],
  ] as const) {
    const body = JSON.stringify(payload);
    const answer = await api.request<{ delivery_id: string; status: string }>("POST", `/api/v1/webhooks/${webhook.id}/receive`, {
      raw: body,
      headers: {
        "x-github-event": event,
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": sha256Signature(webhook.secret, body),
      },
    });
    sent.push({ label, deliveryId: answer.delivery_id });
    out(`                ${label.padEnd(50)} → delivery ${answer.status}`);
  }

  const deliveriesRoute = `/api/v1/webhooks/${webhook.id}/deliveries`;
  const deadline = Date.now() + PROCESSING_TIMEOUT_MS;
  let deliveries: Delivery[] = [];
  for (;;) {
    deliveries = (await api.request<Page<Delivery>>("GET", deliveriesRoute)).data;
    const pending = sent.filter((s) => (deliveries.find((d) => d.id === s.deliveryId)?.status ?? "received") === "received");
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      throw new DemoError(`still not processed after ${PROCESSING_TIMEOUT_MS / 1000} s: ${pending.map((p) => p.label).join("; ")} (are the app's workers running?)`);
    }
    await sleep(POLL_MS);
  }
  out("5. Processed   by the app's worker");

  const tasksRoute = `/api/v1/teams/${team.id}/tasks`;
  let tasks = (await api.request<Page<Task>>("GET", tasksRoute)).data;
  // Assignment follows the task's creation in a job of its own: give it a moment.
  const settle = Date.now() + 10_000;
  while (!tasks.some((t) => t.assignee_id) && tasks.length > 0 && Date.now() < settle) {
    await sleep(POLL_MS);
    tasks = (await api.request<Page<Task>>("GET", tasksRoute)).data;
  }

  out();
  out(`Delivery log   GET ${deliveriesRoute}`);
  out(formatTable(
    ["EVENT", "STATUS", "TASK", "ACTION TAKEN"],
    deliveries.map((d) => [d.event_type, d.status, d.task_id ? `#${d.task_id}` : "-", d.action_taken ?? d.error ?? ""]),
  ));
  out();
  out(`Tasks          GET ${tasksRoute}`);
  const agents = new Map([[agent.id, agent.name]]);
  out(formatTable(
    ["TASK", "TITLE", "PRIORITY", "STATUS", "ASSIGNEE", "TAGS"],
    tasks.map((t) => [`#${t.id}`, t.title, t.priority, t.status, t.assignee_id ? agents.get(t.assignee_id) ?? t.assignee_id : "-", t.tags.join(", ")]),
  ));
  out();

  const processed = deliveries.filter((d) => d.status === "processed").length;
  if (processed !== sent.length || tasks.length !== sent.length) {
    process.stderr.write(`demo: expected ${sent.length} processed deliveries and ${sent.length} tasks, got ${processed} and ${tasks.length}; see the delivery log above\n`);
    return false;
  }
  out(`Next: add a webhook to a GitHub repository (Settings → Webhooks) with ${config.url}/api/v1/webhooks/<id>/receive`);
  out("as its payload URL (through a tunnel), content type application/json and the secret POST /api/v1/webhooks answers;");
  out(`or register the GitHub App at ${config.url}/setup.`);
  return true;
}

try {
  process.exitCode = (await main()) ? 0 : 1;
} catch (error) {
  const known = error instanceof DemoError || error instanceof ConfigError;
  process.stderr.write(`demo: ${known ? (error as Error).message : String((error as Error).stack ?? error)}\n`);
  process.exitCode = 1;
}
