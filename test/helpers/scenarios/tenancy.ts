import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "../../../src/db/sql.js";
import { createTenant, startTestRuntime, type TestRuntime } from "../app-runtime.js";
import { reportFigures } from "../figures.js";
import { issueOpened, signedDelivery } from "../github-events.js";
import { deliverToApp, settled } from "../http.js";

export interface TenancySize {
  /** Organizations; every one tries every other's objects. */
  orgs: number;
}

/** Everything one organization owns, made through the API, and the strings that must never reach another. */
interface Org {
  label: string;
  orgId: string;
  teamId: string;
  secondTeamId: string;
  agentId: string;
  taskId: number;
  subtaskId: number;
  githubTaskId: number;
  webhookId: string;
  webhookSecret: string;
  deliveryId: string;
  installationId: string;
  spareKeyId: string;
  outboundId: string;
  outboundSecret: string;
  outboundDeliveryId: string;
  /** Where its outbound webhook points: a local receiver, so notifications really are sent. */
  outboundUrl: string;
  apiKey: string;
  token: string;
  /** Ids, names, titles and secrets of this organization's objects. */
  secrets: string[];
}

interface Attempt {
  url: string;
  body?: unknown;
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/**
 * How a route is tried. `object`: the route names one of the victim's objects; the attacker gets 404,
 * the victim itself (the control, run last) does not, so the request was well formed. `orgWide`: no
 * id in the path; the attacker sees only its own objects, and `crossRefs` name the victim's objects
 * in the body. `public`: not scoped by an API key at all. `agentKey`: a runner's route, which an admin's
 * key or token is refused (403) whoever's object it names; agents' own scoping: test/integration/agent-runs.test.ts.
 * `control: false`: the victim has no such object either (an agent run), so only the attacker's 404 is checked.
 */
type RouteCase =
  | { object: (victim: Org) => Attempt; control?: false }
  | { agentKey: (victim: Org) => Attempt }
  | { orgWide: (attacker: Org) => Attempt; status?: number[]; crossRefs?: (victim: Org, attacker: Org) => { attempt: Attempt; status: number; code: string }[] }
  | { public: string };

const object = (url: (v: Org) => string, body?: (v: Org) => unknown): RouteCase => ({ object: (v) => ({ url: url(v), body: body?.(v) }) });
const agentKey = (url: (v: Org) => string, body?: (v: Org) => unknown): RouteCase => ({ agentKey: (v) => ({ url: url(v), body: body?.(v) }) });
/** A run id no organization has. */
const NO_RUN = "0190a6f0-0000-7000-8000-000000000000";

const ROUTES: Record<string, RouteCase> = {
  "GET /api/v1/health": { public: "liveness and readiness, no organization data" },
  "POST /api/v1/webhooks/{id}/receive": { public: "authenticated by the webhook's signature, not a key: test/integration/forgery.test.ts" },
  // A bearer token cannot mint another (403); an API key's token carries the key's own organization, checked below.
  "POST /api/v1/auth/token": { orgWide: () => ({ url: "/api/v1/auth/token" }), status: [200, 403] },

  "GET /api/v1/orgs/{id}": object((v) => `/api/v1/orgs/${v.orgId}`),
  "PATCH /api/v1/orgs/{id}": object((v) => `/api/v1/orgs/${v.orgId}`, () => ({ name: "Taken over" })),
  "GET /api/v1/orgs/{org_id}/teams": object((v) => `/api/v1/orgs/${v.orgId}/teams`),
  "POST /api/v1/orgs/{org_id}/teams": object((v) => `/api/v1/orgs/${v.orgId}/teams`, () => ({ name: `Planted ${randomBytes(3).toString("hex")}` })),
  "GET /api/v1/teams/{id}": object((v) => `/api/v1/teams/${v.secondTeamId}`),

  "GET /api/v1/teams/{team_id}/agents": object((v) => `/api/v1/teams/${v.teamId}/agents`),
  "POST /api/v1/teams/{team_id}/agents": object((v) => `/api/v1/teams/${v.teamId}/agents`, () => ({ name: `planted-${randomBytes(3).toString("hex")}`, role: "engineer" })),
  "GET /api/v1/agents/{id}": object((v) => `/api/v1/agents/${v.agentId}`),
  "PATCH /api/v1/agents/{id}": object((v) => `/api/v1/agents/${v.agentId}`, () => ({ status: "paused" })),
  "POST /api/v1/agents/{id}/keys": object((v) => `/api/v1/agents/${v.agentId}/keys`),
  "POST /api/v1/agents/{id}/messages": object((v) => `/api/v1/agents/${v.agentId}/messages`, (v) => ({ task_id: v.taskId, body: "Planted message" })),

  "GET /api/v1/teams/{team_id}/tasks": object((v) => `/api/v1/teams/${v.teamId}/tasks`),
  "POST /api/v1/teams/{team_id}/tasks": object((v) => `/api/v1/teams/${v.teamId}/tasks`, () => ({ title: "Planted task" })),
  "GET /api/v1/tasks/{id}": object((v) => `/api/v1/tasks/${v.taskId}`),
  "PATCH /api/v1/tasks/{id}": object((v) => `/api/v1/tasks/${v.taskId}`, () => ({ title: "Renamed by a stranger", priority: "critical" })),
  "POST /api/v1/tasks/{id}/status": object((v) => `/api/v1/tasks/${v.subtaskId}/status`, () => ({ status: "in_progress" })),
  "POST /api/v1/tasks/{id}/acknowledge": object((v) => `/api/v1/tasks/${v.taskId}/acknowledge`),
  "POST /api/v1/tasks/{id}/subtasks": object((v) => `/api/v1/tasks/${v.taskId}/subtasks`, () => ({ title: "Planted subtask" })),
  "PUT /api/v1/tasks/{id}/dependencies": object((v) => `/api/v1/tasks/${v.subtaskId}/dependencies`, (v) => ({ depends_on: [v.githubTaskId] })),
  "GET /api/v1/tasks/{id}/events": object((v) => `/api/v1/tasks/${v.taskId}/events`),
  "GET /api/v1/tasks/{id}/runs": object((v) => `/api/v1/tasks/${v.taskId}/runs`),
  "GET /api/v1/tasks/{id}/runs/{run_id}": { ...object((v) => `/api/v1/tasks/${v.taskId}/runs/${NO_RUN}`), control: false },
  "POST /api/v1/tasks/{id}/retry": object((v) => `/api/v1/tasks/${v.taskId}/retry`),
  "POST /api/v1/runner/claim": agentKey(() => "/api/v1/runner/claim", () => ({ wait_s: 0 })),
  "POST /api/v1/tasks/{id}/git-credentials": agentKey((v) => `/api/v1/tasks/${v.taskId}/git-credentials`),
  "POST /api/v1/tasks/{id}/pull-request": agentKey((v) => `/api/v1/tasks/${v.taskId}/pull-request`, () => ({ branch: "entourage/task-1", run_id: NO_RUN })),
  "POST /api/v1/runs/{run_id}/heartbeat": agentKey(() => `/api/v1/runs/${NO_RUN}/heartbeat`, () => ({ log: "" })),
  "POST /api/v1/runs/{run_id}/finish": agentKey(() => `/api/v1/runs/${NO_RUN}/finish`, () => ({ exit_code: 0 })),

  "GET /api/v1/webhooks": { orgWide: () => ({ url: "/api/v1/webhooks" }) },
  "POST /api/v1/webhooks": {
    orgWide: (a) => ({ url: "/api/v1/webhooks", body: { team_id: a.teamId, name: "attacker hook", events: ["issues"] } }),
    crossRefs: (v, a) => [
      { attempt: { url: "/api/v1/webhooks", body: { org_id: v.orgId, team_id: a.teamId, name: "x", events: ["issues"] } }, status: 404, code: "not_found" },
      { attempt: { url: "/api/v1/webhooks", body: { team_id: v.teamId, name: "x", events: ["issues"] } }, status: 400, code: "invalid_team" },
    ],
  },
  "GET /api/v1/webhooks/{id}": object((v) => `/api/v1/webhooks/${v.webhookId}`),
  "PATCH /api/v1/webhooks/{id}": object((v) => `/api/v1/webhooks/${v.webhookId}`, () => ({ name: "hijacked", active: false })),
  "DELETE /api/v1/webhooks/{id}": object((v) => `/api/v1/webhooks/${v.webhookId}`),
  "POST /api/v1/webhooks/{id}/regenerate-secret": object((v) => `/api/v1/webhooks/${v.webhookId}/regenerate-secret`, () => ({ grace_seconds: 0 })),
  "GET /api/v1/webhooks/{id}/deliveries": object((v) => `/api/v1/webhooks/${v.webhookId}/deliveries`),
  "GET /api/v1/webhooks/{id}/deliveries/{delivery_id}": object((v) => `/api/v1/webhooks/${v.webhookId}/deliveries/${v.deliveryId}`),
  "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver": object((v) => `/api/v1/webhooks/${v.webhookId}/deliveries/${v.deliveryId}/redeliver`),

  "GET /api/v1/api-keys": { orgWide: () => ({ url: "/api/v1/api-keys" }) },
  "POST /api/v1/api-keys": { orgWide: () => ({ url: "/api/v1/api-keys", body: { name: "attacker key" } }) },
  "DELETE /api/v1/api-keys/{id}": object((v) => `/api/v1/api-keys/${v.spareKeyId}`),

  "GET /api/v1/installations": { orgWide: () => ({ url: "/api/v1/installations" }) },
  "GET /api/v1/installations/{id}": object((v) => `/api/v1/installations/${v.installationId}`),
  "PATCH /api/v1/installations/{id}": object((v) => `/api/v1/installations/${v.installationId}`, () => ({ active: false })),

  "GET /api/v1/outbound-webhooks": { orgWide: () => ({ url: "/api/v1/outbound-webhooks" }) },
  "POST /api/v1/outbound-webhooks": {
    orgWide: (a) => ({ url: "/api/v1/outbound-webhooks", body: { url: `${a.outboundUrl}/more`, events: ["task.created"], active: false } }),
    crossRefs: (v, a) => [
      { attempt: { url: "/api/v1/outbound-webhooks", body: { url: `${a.outboundUrl}/more`, events: ["task.created"], team_id: v.teamId, active: false } }, status: 400, code: "invalid_team" },
    ],
  },
  "GET /api/v1/outbound-webhooks/{id}": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}`),
  "PATCH /api/v1/outbound-webhooks/{id}": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}`, (v) => ({ url: `${v.outboundUrl}/stolen` })),
  "DELETE /api/v1/outbound-webhooks/{id}": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}`),
  "POST /api/v1/outbound-webhooks/{id}/regenerate-secret": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}/regenerate-secret`, () => ({ grace_seconds: 0 })),
  "GET /api/v1/outbound-webhooks/{id}/deliveries": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}/deliveries`),
  "GET /api/v1/outbound-webhooks/{id}/deliveries/{delivery_id}": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}/deliveries/${v.outboundDeliveryId}`),
  "POST /api/v1/outbound-webhooks/{id}/deliveries/{delivery_id}/redeliver": object((v) => `/api/v1/outbound-webhooks/${v.outboundId}/deliveries/${v.outboundDeliveryId}/redeliver`),
};

/** Requests that name another organization's objects inside an attacker's own route. */
function bodyCrossRefs(v: Org, a: Org): { method: Method; attempt: Attempt; status: number[] }[] {
  return [
    { method: "POST", attempt: { url: `/api/v1/teams/${a.teamId}/tasks`, body: { title: "x", assignee_id: v.agentId } }, status: [400, 404] },
    { method: "POST", attempt: { url: `/api/v1/teams/${a.teamId}/tasks`, body: { title: "x", parent_id: v.taskId } }, status: [400, 404] },
    { method: "PATCH", attempt: { url: `/api/v1/tasks/${a.taskId}`, body: { assignee_id: v.agentId } }, status: [400, 404] },
    { method: "PUT", attempt: { url: `/api/v1/tasks/${a.subtaskId}/dependencies`, body: { depends_on: [v.taskId] } }, status: [400, 404] },
    { method: "POST", attempt: { url: `/api/v1/tasks/${a.taskId}/subtasks`, body: { title: "x", assignee_id: v.agentId, depends_on: [v.taskId] } }, status: [400, 404] },
    { method: "PATCH", attempt: { url: `/api/v1/installations/${a.installationId}`, body: { team_id: v.teamId } }, status: [400] },
    { method: "PATCH", attempt: { url: `/api/v1/webhooks/${a.webhookId}`, body: { team_id: v.teamId } }, status: [400] },
    { method: "PATCH", attempt: { url: `/api/v1/outbound-webhooks/${a.outboundId}`, body: { team_id: v.teamId } }, status: [400] },
  ];
}

const CONTROL_ORDER: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/**
 * Every /api/v1 route of the OpenAPI document, tried with each organization's credentials (API key and
 * bearer token) on every other organization's objects: 404 and nothing of the victim in the answer;
 * lists without ids show only the caller's own rows; nothing of the victim changes.
 */
export function describeTenancy(size: TenancySize): void {
  describe(`every /api/v1 route across ${size.orgs} organizations`, () => {
    let rt: TestRuntime;
    let receiver: http.Server;
    let orgs: Org[];
    let installation = 9_400_000;

    const call = async (method: Method, credential: string, attempt: Attempt) => {
      const headers: Record<string, string> = credential.startsWith("oc_") ? { "x-api-key": credential } : { authorization: `Bearer ${credential}` };
      const res = await rt.server.inject({ method, url: attempt.url, headers, ...(attempt.body === undefined ? {} : { payload: attempt.body as object }) });
      return { status: res.statusCode, text: res.body, json: () => res.json() };
    };

    async function makeOrg(): Promise<Org> {
      const label = `org${randomBytes(4).toString("hex")}`;
      const tenant = await createTenant(rt, label, `${label}-gh`);
      const api = async (method: Method, url: string, body?: unknown) => {
        const res = await call(method, tenant.apiKey, { url, body });
        if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.text}`);
        return res.json();
      };
      // First, while the organization has one team: the installation's webhook row takes it.
      const appDelivery = await deliverToApp(rt, "issues", issueOpened({ owner: `${label}-gh`, repo: `${label}-app`, number: 8, title: `${label} app issue`, installationId: ++installation }));
      if (appDelivery.status !== "processed") throw new Error(`the ${label} App delivery was ${appDelivery.status}`);
      const secondTeam = await api("POST", `/api/v1/orgs/${tenant.orgId}/teams`, { name: `${label} Second Team` });
      const agent = await api("POST", `/api/v1/teams/${tenant.teamId}/agents`, { name: `${label}-agent`, role: "engineer" });
      const outboundUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/${label}`;
      const outbound = await api("POST", "/api/v1/outbound-webhooks", { url: outboundUrl, events: ["task.created"] });
      const task = await api("POST", `/api/v1/teams/${tenant.teamId}/tasks`, { title: `${label} task`, description: `${label} plans` });
      const subtask = await api("POST", `/api/v1/tasks/${task.id}/subtasks`, { title: `${label} subtask` });
      const hook = await api("POST", "/api/v1/webhooks", { team_id: tenant.teamId, name: `${label} hook`, events: ["issues"] });
      const signed = signedDelivery(hook.secret, "issues", issueOpened({ owner: `${label}-gh`, repo: `${label}-repo`, number: 7, title: `${label} issue`, installationId: null }));
      const received = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers: signed.headers, payload: signed.payload });
      const delivery = await settled(rt, received.json().delivery_id);
      if (delivery.status !== "processed") throw new Error(`the ${label} delivery was ${delivery.status}: ${delivery.action_taken ?? delivery.error}`);
      await api("PUT", `/api/v1/tasks/${subtask.id}/dependencies`, { depends_on: [delivery.task_id] });
      const installations = await api("GET", "/api/v1/installations");
      const spare = await api("POST", "/api/v1/api-keys", { name: `${label} spare key` });
      const token = await api("POST", "/api/v1/auth/token");
      const outboundDelivery = (await sql<{ id: string }>(rt.database.dataSource, "SELECT id FROM outbound_deliveries WHERE org_id = $1 LIMIT 1", [tenant.orgId])).rows[0];
      if (!outboundDelivery) throw new Error(`no outbound delivery for ${label}`);
      const ids = {
        orgId: tenant.orgId, teamId: tenant.teamId, secondTeamId: secondTeam.id, agentId: agent.id, taskId: task.id, subtaskId: subtask.id,
        githubTaskId: delivery.task_id!, webhookId: hook.id, webhookSecret: hook.secret, deliveryId: received.json().delivery_id,
        installationId: installations.data[0].id, spareKeyId: spare.id, outboundId: outbound.id, outboundSecret: outbound.secret,
        outboundDeliveryId: outboundDelivery.id,
      };
      const strings = Object.values(ids).filter((v): v is string => typeof v === "string");
      return { label, ...ids, outboundUrl, apiKey: tenant.apiKey, token: token.token, secrets: [label, ...strings, tenant.apiKey, spare.api_key, token.token] };
    }

    /** What of the victim an answer shows, apart from what the request itself named. */
    function leaked(victim: Org, text: string, attempt: Attempt): string[] {
      const asked = `${attempt.url} ${JSON.stringify(attempt.body ?? null)}`;
      const found = victim.secrets.filter((s) => text.includes(s) && !asked.includes(s));
      for (const id of [victim.taskId, victim.subtaskId, victim.githubTaskId]) {
        if (new RegExp(`"(id|task_id|parent_id)":${id}\\b`).test(text)) found.push(`task ${id}`);
      }
      return found;
    }

    /** The victim's rows, to see that nothing of it changed. Background job bookkeeping is left out. */
    async function snapshot(victim: Org): Promise<string> {
      const tables = (await sql<{ table_name: string }>(rt.database.dataSource,
        `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'org_id'
            AND table_name NOT IN ('outbound_deliveries', 'github_comments', 'job_outbox') ORDER BY table_name`)).rows;
      const parts: string[] = [];
      for (const { table_name } of tables) {
        const rows = await sql(rt.database.dataSource, `SELECT * FROM ${table_name} WHERE org_id = $1 ORDER BY 1`, [victim.orgId]);
        parts.push(`${table_name}: ${JSON.stringify(rows.rows)}`);
      }
      const org = await sql(rt.database.dataSource, "SELECT * FROM organizations WHERE id = $1", [victim.orgId]);
      return [...parts, JSON.stringify(org.rows)].join("\n");
    }

    beforeAll(async () => {
      receiver = http.createServer((request, response) => request.resume().on("end", () => response.writeHead(204).end()));
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
      rt = await startTestRuntime({ label: "tenancy", env: { RATE_LIMIT_MAX: "100000", OUTBOUND_ALLOWED_HOSTS: "127.0.0.1" } });
      orgs = [];
      for (let i = 0; i < size.orgs; i++) orgs.push(await makeOrg());
    }, 120_000);

    afterAll(async () => {
      await rt?.stop();
      receiver?.closeAllConnections();
      await new Promise((resolve) => receiver?.close(resolve));
    });

    it("answers 404 for another organization's objects, lists only the caller's own, and changes nothing", async () => {
      const document = (await rt.server.inject({ method: "GET", url: "/api/openapi.json" })).json() as { paths: Record<string, Record<string, unknown>> };
      const routes = Object.entries(document.paths)
        .filter(([route]) => route.startsWith("/api/v1/"))
        .flatMap(([route, methods]) => Object.keys(methods).filter((m) => m !== "parameters").map((m) => `${m.toUpperCase()} ${route}`));
      expect(routes.filter((route) => !(route in ROUTES))).toEqual([]);
      expect(Object.keys(ROUTES).filter((route) => !routes.includes(route))).toEqual([]);

      const problems: string[] = [];
      let attempts = 0;
      for (const victim of orgs) {
        for (const attacker of orgs.filter((o) => o !== victim)) {
          const before = await snapshot(victim);
          for (const credential of [attacker.apiKey, attacker.token]) {
            const via = credential === attacker.apiKey ? "API key" : "bearer token";
            for (const route of routes) {
              const [method] = route.split(" ") as [Method];
              const spec = ROUTES[route]!;
              const tries: { attempt: Attempt; status: number[]; code?: string }[] = [];
              if ("object" in spec) tries.push({ attempt: spec.object(victim), status: [404], code: "not_found" });
              if ("agentKey" in spec) tries.push({ attempt: spec.agentKey(victim), status: [403], code: "forbidden" });
              if ("orgWide" in spec) {
                tries.push({ attempt: spec.orgWide(attacker), status: spec.status ?? [200, 201] });
                for (const ref of spec.crossRefs?.(victim, attacker) ?? []) tries.push({ attempt: ref.attempt, status: [ref.status], code: ref.code });
              }
              for (const t of tries) {
                attempts += 1;
                const res = await call(method, credential, t.attempt);
                const where = `${route} (${via}, ${attacker.label} on ${victim.label}: ${t.attempt.url})`;
                if (!t.status.includes(res.status)) problems.push(`${where}: ${res.status} ${res.text.slice(0, 200)}`);
                if (t.code && !res.text.includes(`"code":"${t.code}"`)) problems.push(`${where}: error code is not ${t.code}: ${res.text.slice(0, 200)}`);
                const shown = leaked(victim, res.text, t.attempt);
                if (shown.length > 0) problems.push(`${where}: shows ${shown.join(", ")}`);
                const token = route === "POST /api/v1/auth/token" && res.status === 200 ? (res.json() as { token: string }).token : undefined;
                if (token && JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).org_id !== attacker.orgId) {
                  problems.push(`${where}: the token is not for the caller's organization`);
                }
                if ("orgWide" in spec && method === "GET") {
                  const own = (res.json() as { data: { id: string }[] }).data.map((row) => row.id);
                  if (own.length === 0) problems.push(`${where}: lists nothing, not even the caller's own`);
                }
              }
            }
            for (const ref of bodyCrossRefs(victim, attacker)) {
              attempts += 1;
              const res = await call(ref.method, credential, ref.attempt);
              const where = `${ref.method} ${ref.attempt.url} naming ${victim.label}'s objects (${via})`;
              if (!ref.status.includes(res.status)) problems.push(`${where}: ${res.status} ${res.text.slice(0, 200)}`);
              const shown = leaked(victim, res.text, ref.attempt);
              if (shown.length > 0) problems.push(`${where}: shows ${shown.join(", ")}`);
            }
          }
          if ((await snapshot(victim)) !== before) problems.push(`${attacker.label}'s requests changed ${victim.label}'s data`);
        }
      }

      // The control: each organization's own credentials reach the same objects, so every 404 above was the scoping.
      const controls: string[] = [];
      for (const owner of orgs) {
        const own = routes.filter((r) => "object" in ROUTES[r]! && ROUTES[r].control !== false)
          .sort((a, b) => CONTROL_ORDER.indexOf(a.split(" ")[0] as Method) - CONTROL_ORDER.indexOf(b.split(" ")[0] as Method));
        for (const route of own) {
          const [method] = route.split(" ") as [Method];
          const attempt = (ROUTES[route] as { object: (v: Org) => Attempt }).object(owner);
          const res = await call(method, owner.apiKey, attempt);
          // 409: the object is there, its state does not allow the move (acknowledging a task never dispatched).
          if (!(res.status < 300 || res.status === 409)) controls.push(`${route} by ${owner.label} itself: ${res.status} ${res.text.slice(0, 200)}`);
        }
      }

      reportFigures("tenancy", { orgs: size.orgs, routes: routes.length, attempts, problems: problems.length, failed_controls: controls.length });
      expect(problems).toEqual([]);
      expect(controls).toEqual([]);
    }, 300_000);
  });
}
