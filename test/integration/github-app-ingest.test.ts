import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, countRows, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, pullRequestOpened, signature, signedDelivery, example } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let other: Tenant;
const INSTALLATION = 4242;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "app_ingest" });
  acme = await createTenant(rt, "acme", "acme-corp");
  other = await createTenant(rt, "other", "other-inc");
});

afterAll(async () => {
  await rt?.stop();
});

function post(event: string, payload: unknown, deliveryId?: string) {
  const signed = signedDelivery(APP_WEBHOOK_SECRET, event, payload, deliveryId);
  return rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
}

async function settled(deliveryId: string) {
  return waitFor(async () => {
    const r = await sql<{ status: string; action_taken: string | null; task_id: number | null; error: string | null; webhook_id: string | null }>(
      rt.database.dataSource, "SELECT * FROM webhook_deliveries WHERE id = $1", [deliveryId]);
    const row = r.rows[0];
    return row && row.status !== "received" ? row : undefined;
  }, 10_000, `delivery ${deliveryId} to be processed`);
}

function api(apiKey: string, url: string) {
  return rt.server.inject({ method: "GET", url, headers: { "x-api-key": apiKey } });
}

describe("POST /api/github/webhooks", () => {
  it("stores a signed issues.opened, answers 202, and the worker makes the guide's task", async () => {
    const payload = issueOpened({ owner: "acme-corp", repo: "web", number: 42, title: "Login broken on Safari", body: "Safari 17 shows a blank page", labels: ["critical", "auth"], installationId: INSTALLATION });
    const githubDeliveryId = randomUUID();
    const res = await post("issues", payload, githubDeliveryId);
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ delivery_id: expect.any(String), status: "received" });

    const delivery = await settled(body.delivery_id);
    expect(delivery.status).toBe("processed");
    expect(delivery.action_taken).toBe(`task_created:${delivery.task_id}`);

    const task = await api(acme.apiKey, `/api/v1/tasks/${delivery.task_id}`);
    expect(task.statusCode).toBe(200);
    expect(task.json()).toMatchObject({
      id: delivery.task_id,
      team_id: acme.teamId,
      parent_id: null,
      title: "[GitHub] Login broken on Safari",
      description: "GitHub Issue #42\n\nSafari 17 shows a blank page\n\nhttps://github.com/acme-corp/web/issues/42",
      priority: "critical",
      status: "todo",
      tags: ["github", "issue", "critical", "auth"],
      assignee_id: null,
      source: { provider: "github_app", repository: "acme-corp/web", number: 42, kind: "issue", url: "https://github.com/acme-corp/web/issues/42", installation_id: INSTALLATION },
      completed_at: null,
    });

    const hooks = await api(acme.apiKey, "/api/v1/webhooks");
    const appHook = hooks.json().data.find((w: { provider: string }) => w.provider === "github_app");
    expect(appHook).toMatchObject({ team_id: acme.teamId, events: ["issues", "pull_request", "issue_comment", "pull_request_review"], active: true });
    expect(appHook).not.toHaveProperty("secret");

    const deliveries = await api(acme.apiKey, `/api/v1/webhooks/${appHook.id}/deliveries`);
    expect(deliveries.statusCode).toBe(200);
    expect(deliveries.json().data[0]).toMatchObject({
      id: body.delivery_id, webhook_id: appHook.id, github_delivery_id: githubDeliveryId, event_type: "issues.opened", action: "opened",
      status: "processed", payload_summary: { action: "opened", issue: { title: "Login broken on Safari" } },
      action_taken: `task_created:${delivery.task_id}`, task_id: delivery.task_id, error: null,
    });
    const { created_at: createdAt, processed_at: processedAt } = deliveries.json().data[0];
    expect(new Date(processedAt).getTime()).toBeGreaterThanOrEqual(new Date(createdAt).getTime());
    expect(new Date(processedAt).toISOString()).toBe(processedAt);
    expect(deliveries.json().data[0]).not.toHaveProperty("payload");

    const one = await api(acme.apiKey, `/api/v1/webhooks/${appHook.id}/deliveries/${body.delivery_id}`);
    expect(one.json().payload.issue.title).toBe("Login broken on Safari");
  });

  it("makes a PR task from pull_request.opened", async () => {
    const res = await post("pull_request", pullRequestOpened({ owner: "acme-corp", repo: "api", number: 99, title: "Add rate limiting", installationId: INSTALLATION, labels: [] }));
    const delivery = await settled(res.json().delivery_id);
    expect(delivery.status).toBe("processed");
    const task = (await api(acme.apiKey, `/api/v1/tasks/${delivery.task_id}`)).json();
    expect(task).toMatchObject({ title: "[GitHub PR] Add rate limiting", priority: "medium", tags: ["github", "pull_request"], source: { kind: "pull_request", number: 99 } });
  });

  it("makes a critical PR task from the P0 label, with every label as a tag", async () => {
    const res = await post("pull_request", pullRequestOpened({ owner: "acme-corp", repo: "api", number: 100, title: "Hotfix", installationId: INSTALLATION, labels: ["P0", "ui"] }));
    const delivery = await settled(res.json().delivery_id);
    expect(delivery.status).toBe("processed");
    const task = (await api(acme.apiKey, `/api/v1/tasks/${delivery.task_id}`)).json();
    expect(task).toMatchObject({ title: "[GitHub PR] Hotfix", priority: "critical", tags: ["github", "pull_request", "P0", "ui"] });
  });

  it("marks an event that the installation's webhook does not subscribe to ignored, and makes no task", async () => {
    const appHook = (await api(acme.apiKey, "/api/v1/webhooks")).json().data.find((w: { provider: string }) => w.provider === "github_app");
    const patch = (events: string[]) => rt.server.inject({ method: "PATCH", url: `/api/v1/webhooks/${appHook.id}`, headers: { "x-api-key": acme.apiKey }, payload: { events } });
    expect((await patch(["issues.opened"])).statusCode).toBe(200);
    try {
      const tasksBefore = await countRows(rt, "tasks");
      const res = await post("pull_request", pullRequestOpened({ owner: "acme-corp", repo: "api", number: 101, installationId: INSTALLATION }));
      expect(res.statusCode).toBe(202);
      const delivery = await settled(res.json().delivery_id);
      expect(delivery).toMatchObject({ status: "ignored", task_id: null, webhook_id: appHook.id, action_taken: "ignored: event pull_request.opened is not in the webhook's events" });
      const issue = await settled((await post("issues", issueOpened({ owner: "acme-corp", number: 101, installationId: INSTALLATION }))).json().delivery_id);
      expect(issue.status).toBe("processed");
      expect(await countRows(rt, "tasks")).toBe(tasksBefore + 1);
    } finally {
      expect((await patch(["issues", "pull_request"])).statusCode).toBe(200);
    }
  });

  it("refuses unsigned and wrongly signed requests with 401 and stores nothing", async () => {
    const before = await countRows(rt, "webhook_deliveries");
    const payload = JSON.stringify(issueOpened({ installationId: INSTALLATION }));
    const base = { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": randomUUID() };
    const attempts = [
      base,
      { ...base, "x-hub-signature-256": signature("wrong-secret", payload) },
      { ...base, "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, payload).slice(0, 40) },
      { ...base, "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, payload + " ") },
    ];
    for (const headers of attempts) {
      const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers, payload });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
    expect(await countRows(rt, "webhook_deliveries")).toBe(before);
  });

  it("answers 200 and stores nothing new for a delivery id seen before, also when both arrive at once", async () => {
    const payload = issueOpened({ owner: "acme-corp", number: 500, installationId: INSTALLATION });
    const id = randomUUID();
    const first = await post("issues", payload, id);
    expect(first.statusCode).toBe(202);
    const again = await post("issues", payload, id);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ delivery_id: first.json().delivery_id, duplicate: true });

    const twin = randomUUID();
    const results = await Promise.all([post("issues", payload, twin), post("issues", payload, twin), post("issues", payload, twin)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 202]);
    const rows = await sql(rt.database.dataSource, "SELECT id FROM webhook_deliveries WHERE github_delivery_id = ANY($1)", [[id, twin]]);
    expect(rows.rows).toHaveLength(2);
    // Two deliveries of the same issue make one task.
    const a = await settled(first.json().delivery_id);
    const b = await settled(results.find((r) => r.statusCode === 202)!.json().delivery_id);
    expect(b.task_id).toBe(a.task_id);
    expect([a.action_taken, b.action_taken].sort()).toEqual([`task_created:${a.task_id}`, `task_exists:${a.task_id}`].sort());
  });

  it("ignores events whose sender is a bot, with the reason", async () => {
    const res = await post("issues", issueOpened({ owner: "acme-corp", number: 600, installationId: INSTALLATION, senderType: "Bot", senderLogin: "entourage[bot]" }));
    const delivery = await settled(res.json().delivery_id);
    expect(delivery).toMatchObject({ status: "ignored", task_id: null, action_taken: "ignored: sender entourage[bot] is a bot" });
  });

  it("ignores an installation whose account no organization claims", async () => {
    const res = await post("issues", issueOpened({ owner: "strangers", number: 1, installationId: 999 }));
    const delivery = await settled(res.json().delivery_id);
    expect(delivery.status).toBe("ignored");
    expect(delivery.action_taken).toBe('ignored: no organization has github_login "strangers"');
    const installs = await sql(rt.database.dataSource, "SELECT org_id FROM installations WHERE github_installation_id = 999");
    expect(installs.rows).toEqual([{ org_id: null }]);
  });

  it("logs but makes no task when the installation's webhook has no team", async () => {
    const multi = await createTenant(rt, "multi", "multi-team");
    await sql(rt.database.dataSource, "INSERT INTO teams (org_id, slug, name) VALUES ($1, 'second', 'Second')", [multi.orgId]);
    const res = await post("issues", issueOpened({ owner: "multi-team", number: 3, installationId: 777 }));
    const delivery = await settled(res.json().delivery_id);
    expect(delivery).toMatchObject({ status: "ignored", task_id: null, action_taken: "ignored: the webhook has no team_id, so no task is created" });
    expect(delivery.webhook_id).not.toBeNull();
  });

  it("marks events without a handler ignored", async () => {
    const pinned = example("issues", "pinned");
    pinned.installation = { id: INSTALLATION };
    pinned.repository.owner.login = "acme-corp";
    const res = await post("issues", pinned);
    expect(res.statusCode).toBe(202);
    const delivery = await settled(res.json().delivery_id);
    expect(delivery).toMatchObject({ status: "ignored", action_taken: "ignored: no action for issues.pinned" });
  });

  it("answers bad requests with a JSON error and stores nothing", async () => {
    const before = await countRows(rt, "webhook_deliveries");
    const notJson = "{not json";
    const cases: [Record<string, string>, string, number, string][] = [
      [{ "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, notJson) }, notJson, 400, "invalid_json"],
      [{ "content-type": "application/json", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, "{}") }, "{}", 400, "missing_header"],
      [{ "content-type": "application/json", "x-github-event": "issues", "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, "{}") }, "{}", 400, "missing_header"],
      [{ "content-type": "text/plain", "x-github-event": "issues", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, "{}") }, "{}", 415, "unsupported_media_type"],
      [{ "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, "[1]") }, "[1]", 400, "invalid_json"],
    ];
    for (const [headers, payload, status, code] of cases) {
      const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers, payload });
      expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
    }
    const huge = Buffer.alloc(25 * 1024 * 1024 + 10, 0x20);
    const big = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, huge) }, payload: huge });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe("payload_too_large");
    expect(await countRows(rt, "webhook_deliveries")).toBe(before);
  });
});

describe("redelivering an App delivery", () => {
  it("routes it by installation again and makes no second task", async () => {
    const res = await post("issues", issueOpened({ owner: "acme-corp", repo: "web", number: 4200, installationId: INSTALLATION }));
    const first = await settled(res.json().delivery_id);
    const again = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${first.webhook_id}/deliveries/${res.json().delivery_id}/redeliver`, headers: { "x-api-key": acme.apiKey } });
    expect(again.statusCode).toBe(202);
    const second = await settled(res.json().delivery_id);
    expect(second).toMatchObject({ status: "processed", task_id: first.task_id, action_taken: `task_exists:${first.task_id}` });
    // Suspended installations are checked on a redelivery too.
    await sql(rt.database.dataSource, "UPDATE installations SET suspended_at = now() WHERE github_installation_id = $1", [INSTALLATION]);
    await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${first.webhook_id}/deliveries/${res.json().delivery_id}/redeliver`, headers: { "x-api-key": acme.apiKey } });
    expect((await settled(res.json().delivery_id)).action_taken).toBe(`ignored: installation ${INSTALLATION} is suspended`);
    await sql(rt.database.dataSource, "UPDATE installations SET suspended_at = NULL WHERE github_installation_id = $1", [INSTALLATION]);
  });
});

describe("read endpoints", () => {
  it("need an API key", async () => {
    for (const url of ["/api/v1/webhooks", "/api/v1/tasks/1", `/api/v1/teams/${acme.teamId}/tasks`]) {
      const res = await rt.server.inject({ method: "GET", url });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
      expect((await rt.server.inject({ method: "GET", url, headers: { "x-api-key": "oc_not-a-key" } })).statusCode).toBe(401);
    }
  });

  it("answer 404 for another organization's objects", async () => {
    const tasks = (await api(acme.apiKey, `/api/v1/teams/${acme.teamId}/tasks`)).json().data;
    expect(tasks.length).toBeGreaterThan(0);
    const hooks = (await api(acme.apiKey, "/api/v1/webhooks")).json().data;
    for (const url of [`/api/v1/tasks/${tasks[0].id}`, `/api/v1/teams/${acme.teamId}/tasks`, `/api/v1/webhooks/${hooks[0].id}`, `/api/v1/webhooks/${hooks[0].id}/deliveries`]) {
      const res = await api(other.apiKey, url);
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain("acme");
    }
    expect((await api(other.apiKey, "/api/v1/webhooks")).json().data).toEqual([]);
  });

  it("page newest first with a cursor", async () => {
    const db = rt.database.dataSource;
    for (let i = 0; i < 5; i++) {
      await sql(db, "INSERT INTO tasks (org_id, team_id, title) VALUES ($1, $2, $3)", [other.orgId, other.teamId, `page ${i}`]);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(other.apiKey, `/api/v1/teams/${other.teamId}/tasks?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.statusCode).toBe(200);
      const page = res.json() as { data: { title: string }[]; next_cursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((t) => t.title));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(["page 4", "page 3", "page 2", "page 1", "page 0"]);
    expect((await api(other.apiKey, `/api/v1/teams/${other.teamId}/tasks?limit=201`)).statusCode).toBe(400);
    expect((await api(other.apiKey, `/api/v1/teams/${other.teamId}/tasks?cursor=garbage`)).json().error.code).toBe("invalid_cursor");
  });
});

describe("GET /api/v1/health", () => {
  it("reports Postgres and Redis without a key", async () => {
    const res = await rt.server.inject({ method: "GET", url: "/api/v1/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", postgres: true, redis: true });
  });
});
