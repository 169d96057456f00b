import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { sealStoredSecrets } from "../../src/domain/webhooks.js";
import { APP_WEBHOOK_SECRET, countRows, createTenant, startTestRuntime, TEST_ENCRYPTION_KEY, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, signature, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "webhook_receive" });
  acme = await createTenant(rt, "acme");
});
afterAll(async () => {
  await rt?.stop();
});

async function register(body: Record<string, unknown>) {
  const res = await rt.server.inject({ method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": acme.apiKey }, payload: body });
  return res;
}

function receive(webhookId: string, secret: string, event: string, payload: unknown, deliveryId?: string) {
  const signed = signedDelivery(secret, event, payload, deliveryId);
  return rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${webhookId}/receive`, headers: signed.headers, payload: signed.payload });
}

describe("a repository webhook (the guide's Steps 1-3)", () => {
  it("registers, receives a signed issue, and creates the task", async () => {
    const created = await register({
      org_id: acme.orgId, team_id: acme.teamId, name: "GitHub Issues + PRs", provider: "github",
      events: ["issues", "pull_request"], config: { auto_assign: true },
    });
    expect(created.statusCode).toBe(201);
    const hook = created.json();
    expect(hook).toMatchObject({ id: expect.any(String), events: ["issues", "pull_request"], active: true, team_id: acme.teamId });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const res = await receive(hook.id, hook.secret, "issues", issueOpened({ number: 42, title: "Login broken on Safari", labels: ["critical", "auth"], installationId: null }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ delivery_id: expect.any(String), status: "received" });

    const list = await waitFor(async () => {
      const r = await rt.server.inject({ method: "GET", url: `/api/v1/webhooks/${hook.id}/deliveries`, headers: { "x-api-key": acme.apiKey } });
      const first = r.json().data[0];
      return first?.status === "processed" ? first : undefined;
    });
    expect(list).toMatchObject({ event_type: "issues.opened", payload_summary: { action: "opened", issue: { title: "Login broken on Safari" } } });
    const task = await rt.server.inject({ method: "GET", url: `/api/v1/tasks/${list.task_id}`, headers: { "x-api-key": acme.apiKey } });
    expect(task.json()).toMatchObject({ title: "[GitHub] Login broken on Safari", priority: "critical", source: { provider: "github", installation_id: null } });
  });

  it("keeps the secret sealed at rest (AES-256-GCM), and seals secrets stored in clear at start", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "sealed", events: ["issues"] })).json();
    const stored = (await sql<{ secret: string }>(rt.database.dataSource, "SELECT secret FROM webhooks WHERE id = $1", [hook.id])).rows[0]!.secret;
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain(hook.secret.slice(6));
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ number: 901 }))).statusCode).toBe(202);
    // A row from before encryption still verifies, and sealStoredSecrets seals it.
    await sql(rt.database.dataSource, "UPDATE webhooks SET secret = 'whsec_legacy' WHERE id = $1", [hook.id]);
    expect((await receive(hook.id, "whsec_legacy", "issues", issueOpened({ number: 902 }))).statusCode).toBe(202);
    expect(await sealStoredSecrets(rt.database.dataSource, SecretBox.fromText(TEST_ENCRYPTION_KEY))).toBeGreaterThanOrEqual(1);
    const resealed = (await sql<{ secret: string }>(rt.database.dataSource, "SELECT secret FROM webhooks WHERE id = $1", [hook.id])).rows[0]!.secret;
    expect(resealed).toMatch(/^enc:v1:/);
    expect((await receive(hook.id, "whsec_legacy", "issues", issueOpened({ number: 903 }))).statusCode).toBe(202);
  });

  it("still verifies a secret made when new secrets were whsec_ + hex", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "hex", events: ["issues"] })).json();
    const hex = `whsec_${randomBytes(32).toString("hex")}`;
    await sql(rt.database.dataSource, "UPDATE webhooks SET secret = $2 WHERE id = $1", [hook.id, SecretBox.fromText(TEST_ENCRYPTION_KEY).seal(hex)]);
    expect((await receive(hook.id, hex, "issues", issueOpened({ number: 904 }))).statusCode).toBe(202);
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ number: 905 }))).statusCode).toBe(401);
  });

  it("refuses a missing or wrong signature with 401 (never unsigned), an unknown id with 404", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "h", events: ["issues"] })).json();
    const before = await countRows(rt, "webhook_deliveries");
    const body = JSON.stringify(issueOpened());
    const headers = { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": randomUUID() };
    expect((await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers, payload: body })).statusCode).toBe(401);
    expect((await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers: { ...headers, "x-hub-signature-256": signature("whsec_other", body) }, payload: body })).statusCode).toBe(401);
    expect((await receive(randomUUID(), hook.secret, "issues", issueOpened())).statusCode).toBe(404);
    expect(await countRows(rt, "webhook_deliveries")).toBe(before);
  });

  it("stores events the webhook does not subscribe to as ignored, and does not queue them", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "only PRs", events: ["pull_request.opened"] })).json();
    const res = await receive(hook.id, hook.secret, "issues", issueOpened({ number: 77 }));
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe("ignored");
    const row = await sql(rt.database.dataSource, "SELECT status, action_taken, task_id FROM webhook_deliveries WHERE id = $1", [res.json().delivery_id]);
    expect(row.rows[0]).toEqual({ status: "ignored", action_taken: "ignored: event issues.opened is not in the webhook's events", task_id: null });
  });

  it("keeps delivery ids apart per receiving endpoint: the same id to the App and to a webhook is two deliveries", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "shared id", events: ["issues"] })).json();
    const id = randomUUID();
    const payload = issueOpened({ number: 1200 });
    const toApp = () => {
      const signed = signedDelivery(APP_WEBHOOK_SECRET, "issues", payload, id);
      return rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
    };
    const app = await toApp();
    const own = await receive(hook.id, hook.secret, "issues", payload, id);
    expect([app.statusCode, own.statusCode]).toEqual([202, 202]);
    expect(own.json().delivery_id).not.toBe(app.json().delivery_id);
    const rows = await sql<{ id: string; receiver: string }>(rt.database.dataSource, "SELECT id, receiver FROM webhook_deliveries WHERE github_delivery_id = $1", [id]);
    expect(rows.rows).toHaveLength(2);
    expect(new Set(rows.rows.map((r) => r.receiver)).size).toBe(2);

    const again = await receive(hook.id, hook.secret, "issues", payload, id);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ delivery_id: own.json().delivery_id, duplicate: true });
    const appAgain = await toApp();
    expect(appAgain.statusCode).toBe(200);
    expect(appAgain.json()).toMatchObject({ delivery_id: app.json().delivery_id, duplicate: true });
    expect((await sql(rt.database.dataSource, "SELECT id FROM webhook_deliveries WHERE github_delivery_id = $1", [id])).rows).toHaveLength(2);
  });

  it("answers 410 for an inactive webhook and stores nothing", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "off", events: ["issues"] })).json();
    await sql(rt.database.dataSource, "UPDATE webhooks SET active = false WHERE id = $1", [hook.id]);
    const before = await countRows(rt, "webhook_deliveries");
    const res = await receive(hook.id, hook.secret, "issues", issueOpened());
    expect(res.statusCode).toBe(410);
    expect(await countRows(rt, "webhook_deliveries")).toBe(before);
  });

  it("refuses a team of another organization and unknown events with 400", async () => {
    const stranger = await createTenant(rt, "stranger");
    const badTeam = await register({ team_id: stranger.teamId, name: "x", events: ["issues"] });
    expect(badTeam.statusCode).toBe(400);
    expect(badTeam.json().error.code).toBe("invalid_team");
    const badEvents = await register({ team_id: acme.teamId, name: "x", events: ["issues.exploded"] });
    expect(badEvents.statusCode).toBe(400);
    expect(badEvents.json().error.message).toMatch(/valid events:/);
    expect((await register({ name: "" , events: ["issues"] })).statusCode).toBe(400);
  });
});

describe("the receivers' refusals say what the API's say", () => {
  it("answers a body that is not JSON with the API's 415, word for word", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "content types", events: ["issues"] })).json();
    const body = JSON.stringify(issueOpened({ number: 950 }));
    const headers = { "x-github-event": "issues", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(hook.secret, body) };
    const api = await rt.server.inject({ method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": acme.apiKey, "content-type": "text/plain" }, payload: body });
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      for (const url of [`/api/v1/webhooks/${hook.id}/receive`, "/api/github/webhooks"]) {
        const res = await rt.server.inject({ method: "POST", url, headers: { ...headers, "content-type": type }, payload: body });
        expect({ url, type, status: res.statusCode, body: res.json() }).toEqual({ url, type, status: api.statusCode, body: api.json() });
      }
    }
    expect(api.statusCode).toBe(415);
  });

  it("takes bodies up to GitHub's 25 MiB, and a 413 past it names that limit", async () => {
    const hook = (await register({ team_id: acme.teamId, name: "big bodies", events: ["issues"] })).json();
    const twoMiB = JSON.stringify({ ...issueOpened({ number: 951 }), padding: "x".repeat(2 * 1024 * 1024) });
    expect((await receive(hook.id, hook.secret, "issues", JSON.parse(twoMiB))).statusCode).toBe(202);
    const huge = Buffer.alloc(25 * 1024 * 1024 + 10, 0x20);
    for (const url of [`/api/v1/webhooks/${hook.id}/receive`, "/api/github/webhooks"]) {
      const res = await rt.server.inject({
        method: "POST", url, payload: huge,
        headers: { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": randomUUID(), "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, huge) },
      });
      expect({ url, status: res.statusCode, body: res.json() }).toEqual({
        url, status: 413, body: { error: { code: "payload_too_large", message: "the body is larger than 25 MiB (26214400 bytes)" } },
      });
    }
  });
});
