import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { ensureInstallation, ensureInstallationWebhook } from "../../src/domain/routing.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { createTenant, startTestRuntime, TEST_ENCRYPTION_KEY, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { example, issueOpened, pullRequestOpened, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let acmeAgentKey: string;
let globex: Tenant;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "webhooks_api" });
  acme = await createTenant(rt, "acme", "acme-corp");
  acmeAgentKey = (await createApiKey(rt.database.dataSource, { orgId: acme.orgId, name: "agent", role: "agent" })).key;
  globex = await createTenant(rt, "globex");
});
afterAll(async () => {
  await rt?.stop();
});

type Method = "GET" | "POST" | "PATCH" | "DELETE";

function call(method: Method, url: string, key: string | undefined, payload?: unknown) {
  return rt.server.inject({
    method,
    url,
    headers: key ? { "x-api-key": key } : {},
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

async function register(body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await call("POST", "/api/v1/webhooks", acme.apiKey, { team_id: acme.teamId, name: "repo hook", events: ["issues", "pull_request"], ...body });
  expect(res.statusCode).toBe(201);
  return res.json();
}

function receive(webhookId: string, secret: string, event: string, payload: unknown) {
  const signed = signedDelivery(secret, event, payload);
  return rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${webhookId}/receive`, headers: signed.headers, payload: signed.payload });
}

const box = SecretBox.fromText(TEST_ENCRYPTION_KEY);

/** The webhook row with its secrets opened (they are sealed at rest). */
async function webhookRow(id: string) {
  const result = await sql<Record<string, unknown>>(rt.database.dataSource, "SELECT * FROM webhooks WHERE id = $1", [id]);
  const row = result.rows[0]!;
  for (const key of ["secret", "previous_secret"]) {
    if (typeof row[key] === "string") row[key] = box.open(row[key] as string);
  }
  return row;
}

describe("POST /api/v1/webhooks", () => {
  it("refuses each kind of bad body with 400 in the JSON error shape and registers nothing", async () => {
    const good = { team_id: acme.teamId, name: "bad body", events: ["issues"] };
    const cases: [unknown, string, RegExp?][] = [
      [{ team_id: acme.teamId, name: "no events" }, "invalid_request", /events/],
      [{ ...good, events: "issues" }, "invalid_request", /events/],
      [{ ...good, events: [] }, "invalid_request", /events/],
      [{ ...good, events: [42] }, "invalid_request", /events/],
      [{ ...good, events: ["issues.exploded"] }, "invalid_events", /valid events: \*, issues, issues\.opened/],
      [{ ...good, provider: "gitlab" }, "invalid_request", /provider/],
      [{ ...good, provider: "github_app" }, "invalid_request", /provider/],
      [{ ...good, config: "on" }, "invalid_request", /config/],
      [{ ...good, config: ["auto_assign"] }, "invalid_request", /config/],
      [{ ...good, config: { auto_assign: "yes" } }, "invalid_request", /config/],
      [{ ...good, secret: "whsec_mine" }, "invalid_request", /secret/],
      [{ ...good, active: false }, "invalid_request", /active/],
      [{ events: ["issues"] }, "invalid_request", /name/],
      [{ ...good, team_id: "core" }, "invalid_request", /team_id/],
      [[good], "invalid_request"],
    ];
    const before = await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM webhooks WHERE org_id = $1", [acme.orgId]);
    for (const [payload, code, message] of cases) {
      const res = await call("POST", "/api/v1/webhooks", acme.apiKey, payload);
      expect({ payload, status: res.statusCode, code: res.json().error?.code }).toEqual({ payload, status: 400, code });
      expect(Object.keys(res.json())).toEqual(["error"]);
      expect(Object.keys(res.json().error).sort()).toEqual(["code", "message"]);
      if (message) expect({ payload, message: res.json().error.message }).toEqual({ payload, message: expect.stringMatching(message) });
    }
    const notJson = await rt.server.inject({
      method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": acme.apiKey, "content-type": "application/json" }, payload: "{name:",
    });
    expect([notJson.statusCode, notJson.json()]).toEqual([400, { error: { code: "invalid_json", message: expect.any(String) } }]);
    const after = await sql<{ n: number }>(rt.database.dataSource, "SELECT count(*)::integer AS n FROM webhooks WHERE org_id = $1", [acme.orgId]);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it("takes the guide's body, with a provider of custom and without one", async () => {
    const custom = await call("POST", "/api/v1/webhooks", acme.apiKey, { team_id: acme.teamId, name: "custom", provider: "custom", events: ["*"], config: {} });
    expect(custom.statusCode).toBe(201);
    expect(custom.json()).toMatchObject({ provider: "custom", events: ["*"], secret: expect.stringMatching(/^whsec_/) });
    const bare = await call("POST", "/api/v1/webhooks", acme.apiKey, { name: "bare", events: ["Issues.Opened"] });
    expect(bare.statusCode).toBe(201);
    expect(bare.json()).toMatchObject({ provider: "github", team_id: null, events: ["issues.opened"], config: {} });
  });
});

describe("PATCH /api/v1/webhooks/:id", () => {
  it("changes name, team, events, active and config, and never returns the secret", async () => {
    const hook = await register();
    const other = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "platform" });
    const res = await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, {
      name: "Renamed",
      team_id: other.id,
      events: ["Pull_Request.Opened", "issues.opened", "issues"],
      active: false,
      config: { auto_assign: true, label_priorities: { bug: "high" } },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      id: hook.id, name: "Renamed", team_id: other.id, events: ["issues", "pull_request.opened"], active: false,
      config: { auto_assign: true, label_priorities: { bug: "high" } },
    });
    for (const hidden of ["secret", "previous_secret", "previous_secret_expires_at", "deleted_at"]) expect(body).not.toHaveProperty(hidden);

    const shown = (await call("GET", `/api/v1/webhooks/${hook.id}`, acme.apiKey)).json();
    expect(shown).toMatchObject({ name: "Renamed", team_id: other.id, active: false });

    const cleared = await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, { team_id: null });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ team_id: null, name: "Renamed", events: ["issues", "pull_request.opened"] });

    // config is replaced whole, not merged.
    const replaced = await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, { config: { auto_assign: false } });
    expect(replaced.json().config).toEqual({ auto_assign: false });
    // The secret itself did not change.
    expect((await webhookRow(hook.id)).secret).toBe(hook.secret);
  });

  it("turns the receiver off and on with active", async () => {
    const hook = await register();
    await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, { active: false });
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(410);
    await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, { active: true });
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
  });

  it("refuses each kind of bad body with 400 and changes nothing", async () => {
    const hook = await register({ name: "untouched" });
    const before = await webhookRow(hook.id);
    const cases: [unknown, string, RegExp?][] = [
      [{ events: ["issues.exploded"] }, "invalid_events", /valid events: \*, issues, issues\.opened/],
      [{ events: [] }, "invalid_request"],
      [{ events: "issues" }, "invalid_request"],
      [{ team_id: globex.teamId }, "invalid_team"],
      [{ team_id: randomUUID() }, "invalid_team"],
      [{ team_id: "core" }, "invalid_request"],
      [{}, "invalid_request", /at least one/],
      [{ secret: "whsec_mine" }, "invalid_request", /secret/],
      [{ provider: "custom" }, "invalid_request"],
      [{ name: "" }, "invalid_request"],
      [{ name: "   " }, "invalid_request"],
      [{ name: "a".repeat(201) }, "invalid_request"],
      [{ active: "yes" }, "invalid_request"],
      [{ config: "on" }, "invalid_request"],
      [{ config: { auto_assign: "yes" } }, "invalid_request"],
      [{ config: { label_priorities: { bug: "urgent" } } }, "invalid_request"],
      [{ config: { note: "nul\u0000byte" } }, "invalid_request"],
    ];
    for (const [payload, code, message] of cases) {
      const res = await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, payload);
      expect({ payload, status: res.statusCode, code: res.json().error?.code }).toEqual({ payload, status: 400, code });
      if (message) expect(res.json().error.message).toMatch(message);
    }
    const notJson = await rt.server.inject({
      method: "PATCH", url: `/api/v1/webhooks/${hook.id}`, headers: { "x-api-key": acme.apiKey, "content-type": "application/json" }, payload: "{name:",
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe("invalid_json");
    expect(await webhookRow(hook.id)).toEqual(before);
  });
});

describe("DELETE /api/v1/webhooks/:id", () => {
  it("soft-deletes: 204, gone from GET and the list, receiver 404, deliveries still readable, idempotent", async () => {
    const hook = await register({ team_id: null });
    const delivered = await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }));
    expect(delivered.statusCode).toBe(202);
    await waitFor(async () => (await webhookDeliveries(hook.id))[0]?.status === "ignored", 10_000, "the delivery to be processed");

    const res = await call("DELETE", `/api/v1/webhooks/${hook.id}`, acme.apiKey);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");

    expect((await call("GET", `/api/v1/webhooks/${hook.id}`, acme.apiKey)).statusCode).toBe(404);
    const listed = await call("GET", "/api/v1/webhooks?limit=200", acme.apiKey);
    expect(listed.json().data.map((w: { id: string }) => w.id)).not.toContain(hook.id);
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(404);
    expect((await call("PATCH", `/api/v1/webhooks/${hook.id}`, acme.apiKey, { name: "back" })).statusCode).toBe(404);
    expect((await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey)).statusCode).toBe(404);

    const history = await call("GET", `/api/v1/webhooks/${hook.id}/deliveries`, acme.apiKey);
    expect(history.statusCode).toBe(200);
    expect(history.json().data).toEqual([expect.objectContaining({ id: delivered.json().delivery_id, event_type: "issues.opened" })]);
    const one = await call("GET", `/api/v1/webhooks/${hook.id}/deliveries/${delivered.json().delivery_id}`, acme.apiKey);
    expect(one.statusCode).toBe(200);

    const row = await webhookRow(hook.id);
    expect(row).toMatchObject({ active: false, secret: null, previous_secret: null });
    expect(row.deleted_at).toBeInstanceOf(Date);

    const again = await call("DELETE", `/api/v1/webhooks/${hook.id}`, acme.apiKey);
    expect(again.statusCode).toBe(204);
    expect((await webhookRow(hook.id)).deleted_at).toEqual(row.deleted_at);
  });

  it("deletes once when asked several times at once", async () => {
    const hook = await register();
    const results = await Promise.all(Array.from({ length: 5 }, () => call("DELETE", `/api/v1/webhooks/${hook.id}`, acme.apiKey)));
    expect(results.map((r) => r.statusCode)).toEqual([204, 204, 204, 204, 204]);
    expect((await webhookRow(hook.id)).deleted_at).toBeInstanceOf(Date);
  });
});

describe("an installation's webhook (provider github_app)", () => {
  it("may change team, events, config and active, but not be renamed, deleted or given a secret", async () => {
    const installation = await ensureInstallation(rt.database.dataSource, { installation: { id: 4242, account: { login: "acme-corp", type: "Organization" } } });
    const appHook = await ensureInstallationWebhook(rt.database.dataSource, installation, acme.orgId);
    const url = `/api/v1/webhooks/${appHook.id}`;

    const patched = await call("PATCH", url, acme.apiKey, { team_id: acme.teamId, events: ["issues.opened"], config: { auto_assign: true }, active: false });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ provider: "github_app", team_id: acme.teamId, events: ["issues.opened"], config: { auto_assign: true }, active: false });

    const renamed = await call("PATCH", url, acme.apiKey, { name: "mine now" });
    expect(renamed.statusCode).toBe(409);
    expect(renamed.json().error.code).toBe("github_app_webhook");
    const deleted = await call("DELETE", url, acme.apiKey);
    expect(deleted.statusCode).toBe(409);
    expect(deleted.json().error.code).toBe("github_app_webhook");
    const regenerated = await call("POST", `${url}/regenerate-secret`, acme.apiKey);
    expect(regenerated.statusCode).toBe(409);
    expect(regenerated.json().error.code).toBe("github_app_webhook");

    const row = await webhookRow(appHook.id);
    expect(row).toMatchObject({ deleted_at: null, secret: null, name: appHook.name });
  });
});

describe("POST /api/v1/webhooks/:id/regenerate-secret", () => {
  it("returns a new secret; the old one is refused at once", async () => {
    const hook = await register();
    const res = await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey);
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual(["id", "secret"]);
    const { id, secret } = res.json();
    expect(id).toBe(hook.id);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secret).not.toBe(hook.secret);

    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(401);
    expect((await receive(hook.id, secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
    expect(JSON.stringify((await call("GET", `/api/v1/webhooks/${hook.id}`, acme.apiKey)).json())).not.toContain(secret);
  });

  it("keeps the old secret valid during grace_seconds and refuses it once the grace has passed", async () => {
    const hook = await register();
    const res = await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, { grace_seconds: 3600 });
    expect(res.statusCode).toBe(200);
    const fresh = res.json().secret as string;
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
    expect((await receive(hook.id, fresh, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);

    const row = await webhookRow(hook.id);
    const expiresIn = (row.previous_secret_expires_at as Date).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(3590_000);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);

    // The grace ends: simulated by moving its end into the past.
    await sql(rt.database.dataSource, "UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1", [hook.id]);
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(401);
    expect((await receive(hook.id, fresh, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
  });

  it("lets a one-second grace run out in real time", async () => {
    const hook = await register();
    const fresh = (await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, { grace_seconds: 1 })).json().secret as string;
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(401);
    expect((await receive(hook.id, fresh, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
  });

  it("a rotation without grace also ends the grace of the rotation before it", async () => {
    const hook = await register();
    const second = (await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, { grace_seconds: 600 })).json().secret as string;
    const third = (await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, { grace_seconds: 0 })).json().secret as string;
    expect((await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }))).statusCode).toBe(401);
    expect((await receive(hook.id, second, "issues", issueOpened({ installationId: null }))).statusCode).toBe(401);
    expect((await receive(hook.id, third, "issues", issueOpened({ installationId: null }))).statusCode).toBe(202);
  });

  it("leaves one consistent state when several regenerations run at once", async () => {
    const hook = await register();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, { grace_seconds: 600 })),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const returned = results.map((r) => r.json().secret as string);
    expect(new Set(returned).size).toBe(6);
    const row = await webhookRow(hook.id);
    // The last to commit holds the current secret; the one before it is the previous one.
    expect(returned).toContain(row.secret);
    expect([hook.secret, ...returned]).toContain(row.previous_secret);
    expect(row.previous_secret).not.toBe(row.secret);

    const accepted: string[] = [];
    for (const secret of [hook.secret, ...returned]) {
      const res = await receive(hook.id, secret, "issues", issueOpened({ installationId: null }));
      if (res.statusCode === 202) accepted.push(secret);
      else expect(res.statusCode).toBe(401);
    }
    expect(accepted.sort()).toEqual([row.secret, row.previous_secret].sort());
  });

  it("refuses a bad grace_seconds with 400 and keeps the secret", async () => {
    const hook = await register();
    for (const payload of [{ grace_seconds: -1 }, { grace_seconds: 604801 }, { grace_seconds: 1.5 }, { grace_seconds: "10" }, { grace: 10 }, []]) {
      const res = await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 400 });
    }
    expect((await webhookRow(hook.id)).secret).toBe(hook.secret);
    const longest = await call("POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`, acme.apiKey, { grace_seconds: 604800 });
    expect(longest.statusCode).toBe(200);
  });
});

async function webhookDeliveries(id: string, query = ""): Promise<{ id: string; status: string; event_type: string }[]> {
  const res = await call("GET", `/api/v1/webhooks/${id}/deliveries${query}`, acme.apiKey);
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

describe("GET /api/v1/webhooks/:id/deliveries filters", () => {
  let hookId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const hook = await register({ events: ["issues"] });
    hookId = hook.id;
    const milestoned = example("issues", "milestoned");
    delete milestoned.installation;
    const sent: [string, string, Record<string, unknown>][] = [
      ["opened", "issues", issueOpened({ number: 9001, installationId: null })],
      ["milestoned", "issues", milestoned],
      ["pr", "pull_request", pullRequestOpened({ number: 9002, installationId: null })],
    ];
    for (const [label, event, payload] of sent) {
      const res = await receive(hookId, hook.secret, event, payload);
      expect(res.statusCode).toBe(202);
      ids[label] = res.json().delivery_id;
      // Distinct created_at milliseconds make the newest-first order exact.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(async () => (await webhookDeliveries(hookId, "?status=received")).length === 0, 10_000, "every delivery to be processed");
  });

  it("filters by status", async () => {
    expect((await webhookDeliveries(hookId, "?status=processed")).map((d) => d.id)).toEqual([ids.opened]);
    expect((await webhookDeliveries(hookId, "?status=ignored")).map((d) => d.id).sort()).toEqual([ids.milestoned, ids.pr].sort());
    expect(await webhookDeliveries(hookId, "?status=failed")).toEqual([]);
  });

  it("filters by event type: a bare event matches all its actions", async () => {
    expect((await webhookDeliveries(hookId, "?event_type=issues")).map((d) => d.id).sort()).toEqual([ids.opened, ids.milestoned].sort());
    expect((await webhookDeliveries(hookId, "?event_type=issues.milestoned")).map((d) => d.id)).toEqual([ids.milestoned]);
    expect((await webhookDeliveries(hookId, "?event_type=pull_request")).map((d) => d.id)).toEqual([ids.pr]);
    expect(await webhookDeliveries(hookId, "?event_type=push")).toEqual([]);
  });

  it("combines status and event type", async () => {
    expect((await webhookDeliveries(hookId, "?status=ignored&event_type=issues")).map((d) => d.id)).toEqual([ids.milestoned]);
  });

  it("pages newest first with limit and cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call("GET", `/api/v1/webhooks/${hookId}/deliveries?limit=1${cursor ? `&cursor=${cursor}` : ""}`, acme.apiKey);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toHaveLength(1);
      seen.push(res.json().data[0].id);
      cursor = res.json().next_cursor;
    } while (cursor);
    expect(seen).toEqual([ids.pr, ids.milestoned, ids.opened]);
  });

  it("refuses bad filters and cursors with 400", async () => {
    for (const query of ["?status=done", "?limit=0", "?limit=201", "?cursor=nonsense", "?event_type="]) {
      const res = await call("GET", `/api/v1/webhooks/${hookId}/deliveries${query}`, acme.apiKey);
      expect({ query, status: res.statusCode }).toEqual({ query, status: 400 });
    }
  });

  it("shows one delivery with its full payload, and no delivery of another webhook", async () => {
    const one = await call("GET", `/api/v1/webhooks/${hookId}/deliveries/${ids.opened}`, acme.apiKey);
    expect(one.statusCode).toBe(200);
    expect(one.json().payload.issue.number).toBe(9001);
    const otherHook = await register();
    expect((await call("GET", `/api/v1/webhooks/${otherHook.id}/deliveries/${ids.opened}`, acme.apiKey)).statusCode).toBe(404);
  });
});

describe("authentication, roles and tenancy", () => {
  it("answers 401 without a key or with a wrong one on every webhook route", async () => {
    const hook = await register();
    const routes: [Method, string, unknown?][] = [
      ["GET", "/api/v1/webhooks"],
      ["POST", "/api/v1/webhooks", { name: "x", events: ["issues"] }],
      ["GET", `/api/v1/webhooks/${hook.id}`],
      ["PATCH", `/api/v1/webhooks/${hook.id}`, { name: "x" }],
      ["DELETE", `/api/v1/webhooks/${hook.id}`],
      ["POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`],
      ["GET", `/api/v1/webhooks/${hook.id}/deliveries`],
      ["POST", `/api/v1/webhooks/${hook.id}/deliveries/${randomUUID()}/redeliver`],
    ];
    for (const [method, url, payload] of routes) {
      for (const key of [undefined, "oc_not_a_key"]) {
        const res = await call(method, url, key, payload);
        expect({ method, url, status: res.statusCode, code: res.json().error?.code }).toEqual({ method, url, status: 401, code: "unauthorized" });
      }
    }
    expect((await webhookRow(hook.id)).deleted_at).toBeNull();
  });

  it("answers 403 to an agent key on webhook management, and lets it read", async () => {
    const hook = await register();
    const managing: [Method, string, unknown?][] = [
      ["POST", "/api/v1/webhooks", { name: "x", events: ["issues"] }],
      ["PATCH", `/api/v1/webhooks/${hook.id}`, { name: "agent was here" }],
      ["DELETE", `/api/v1/webhooks/${hook.id}`],
      ["POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`],
      ["POST", `/api/v1/webhooks/${hook.id}/deliveries/${randomUUID()}/redeliver`],
    ];
    for (const [method, url, payload] of managing) {
      const res = await call(method, url, acmeAgentKey, payload);
      expect({ method, url, status: res.statusCode, code: res.json().error?.code }).toEqual({ method, url, status: 403, code: "forbidden" });
    }
    const row = await webhookRow(hook.id);
    expect(row).toMatchObject({ name: "repo hook", deleted_at: null, secret: hook.secret });
    expect((await call("GET", "/api/v1/webhooks", acmeAgentKey)).statusCode).toBe(200);
    expect((await call("GET", `/api/v1/webhooks/${hook.id}`, acmeAgentKey)).statusCode).toBe(200);
    expect((await call("GET", `/api/v1/webhooks/${hook.id}/deliveries`, acmeAgentKey)).statusCode).toBe(200);
  });

  it("answers 404 to another organization on every route and leaves the webhook alone", async () => {
    const hook = await register();
    const delivered = await receive(hook.id, hook.secret, "issues", issueOpened({ installationId: null }));
    const deliveryId = delivered.json().delivery_id as string;
    await waitFor(async () => (await webhookDeliveries(hook.id))[0]?.status !== "received", 10_000, "the delivery to be processed");
    const routes: [Method, string, unknown?][] = [
      ["GET", `/api/v1/webhooks/${hook.id}`],
      ["PATCH", `/api/v1/webhooks/${hook.id}`, { name: "taken over", team_id: null }],
      ["DELETE", `/api/v1/webhooks/${hook.id}`],
      ["POST", `/api/v1/webhooks/${hook.id}/regenerate-secret`],
      ["GET", `/api/v1/webhooks/${hook.id}/deliveries`],
      ["GET", `/api/v1/webhooks/${hook.id}/deliveries/${deliveryId}`],
      ["POST", `/api/v1/webhooks/${hook.id}/deliveries/${deliveryId}/redeliver`],
    ];
    for (const [method, url, payload] of routes) {
      const res = await call(method, url, globex.apiKey, payload);
      expect({ method, url, status: res.statusCode }).toEqual({ method, url, status: 404 });
      expect(res.body).not.toContain(hook.secret);
      expect(res.body).not.toContain("repo hook");
    }
    const listed = await call("GET", "/api/v1/webhooks?limit=200", globex.apiKey);
    expect(listed.json().data.map((w: { id: string }) => w.id)).not.toContain(hook.id);
    const row = await webhookRow(hook.id);
    expect(row).toMatchObject({ name: "repo hook", team_id: acme.teamId, deleted_at: null, secret: hook.secret });
  });

  it("answers 400 to ids that are not uuids", async () => {
    expect((await call("PATCH", "/api/v1/webhooks/42", acme.apiKey, { name: "x" })).statusCode).toBe(400);
    expect((await call("DELETE", "/api/v1/webhooks/42", acme.apiKey)).statusCode).toBe(400);
    expect((await call("POST", "/api/v1/webhooks/42/regenerate-secret", acme.apiKey)).statusCode).toBe(400);
  });
});

describe("GET /api/v1/webhooks pagination", () => {
  it("pages the organization's webhooks newest first", async () => {
    const tenant = await createTenant(rt, "paging");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call("POST", "/api/v1/webhooks", tenant.apiKey, { name: `hook ${i}`, events: ["issues"] });
      made.push(res.json().id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await call("GET", `/api/v1/webhooks?limit=2${cursor ? `&cursor=${cursor}` : ""}`, tenant.apiKey);
      expect(res.statusCode).toBe(200);
      sizes.push(res.json().data.length);
      seen.push(...res.json().data.map((w: { id: string }) => w.id));
      cursor = res.json().next_cursor;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...made].reverse());
  });
});

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, with a docs page at /api/docs", async () => {
    const doc = await rt.server.inject({ method: "GET", url: "/api/openapi.json" });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toMatch(/^3\.1/);
    const page = await rt.server.inject({ method: "GET", url: "/api/docs" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toMatch(/<html/i);
  });

  it("lists the valid event names and refuses unknown fields in the registration body", async () => {
    const doc = (await rt.server.inject({ method: "GET", url: "/api/openapi.json" })).json();
    const body = doc.paths["/api/v1/webhooks"].post.requestBody.content["application/json"].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.events.items.enum).toEqual(expect.arrayContaining(["*", "issues", "issues.opened", "pull_request.merged", "push"]));
    expect(body.properties.provider.enum).toEqual(["github", "custom"]);
    const patch = doc.paths["/api/v1/webhooks/{id}"].patch.requestBody.content["application/json"].schema;
    expect(patch.properties.events.items.enum).toEqual(body.properties.events.items.enum);
  });

  it("describes the webhook management routes", async () => {
    const doc = (await rt.server.inject({ method: "GET", url: "/api/openapi.json" })).json();
    expect(doc.paths["/api/v1/webhooks/{id}"].patch).toMatchObject({ tags: ["webhooks"], summary: expect.any(String) });
    expect(doc.paths["/api/v1/webhooks/{id}"].delete).toMatchObject({ tags: ["webhooks"] });
    expect(doc.paths["/api/v1/webhooks/{id}/regenerate-secret"].post).toMatchObject({ tags: ["webhooks"] });
    expect(doc.paths["/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"].post).toMatchObject({ tags: ["webhooks"] });
  });
});
