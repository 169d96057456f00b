import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../app-runtime.js";
import { reportFigures } from "../figures.js";
import { issueOpened, signedDelivery } from "../github-events.js";
import { settled } from "../http.js";
import { testRandom } from "../random.js";

export interface InjectionSize {
  /** Strings made by joining hostile fragments at random, on top of the fixed list. */
  generated: number;
}

/** Strings that break queries, JSON, array literals, LIKE patterns or renderers when they are not passed as data. */
export const HOSTILE = [
  "'; DROP TABLE tasks; --",
  "\" OR 1=1 --",
  "{\"$gt\": \"\"}",
  "Robert'); DROP TABLE students;--",
  "' OR '1'='1",
  "1' UNION SELECT key_hash FROM api_keys --",
  "$$; DROP TABLE webhook_deliveries; $$",
  "' || (SELECT current_user) || '",
  "E'\\x27'",
  "%",
  "_",
  "%_%",
  "\\",
  "\\'",
  "\\\\%",
  "{a,b}",
  "{\"}",
  "ARRAY['x']::text[]",
  "NULL",
  "null",
  "0",
  "-1",
  "1e309",
  "[]",
  "{}",
  "<script>alert(1)</script>",
  "${7*7}",
  "{{7*7}}",
  "../../etc/passwd",
  "/* comment */ --",
  "\u202Eevil\u202C",
  "😀👩‍💻🏳️‍🌈",
  "𝕏𝔸𝕄 𝒻𝓊𝓃𝓀𝓎",
  "日本語のタイトル",
  "Ελληνικά",
  "line\u2028separator\u2029paragraph",
  "e\u0301 combining",
  "tab\tnew\nline\rreturn",
  " leading and trailing spaces ",
  "x".repeat(10_000),
];

const FRAGMENTS = ["'", "\"", ";", "--", "/*", "*/", "%", "_", "\\", "{", "}", "[", "]", ",", "$1", "$$", "::", "OR 1=1", "DROP TABLE tasks", "😀", "\u202E", "é", "\t", "\n", " ", "null", "<b>"];

function generated(count: number): string[] {
  const random = testRandom();
  return Array.from({ length: count }, () => Array.from({ length: random.int(2, 7) }, () => random.pick(FRAGMENTS)).join(""))
    .filter((s) => s.trim().length > 0);
}

const OWNER = "inject-corp";

interface Made {
  title: string;
  labels: string[];
  repository: string;
  taskId: number;
  deliveryId: string;
}

/**
 * Hostile strings in GitHub deliveries (titles, labels, bodies, repository names), in API-created
 * tasks, and in every list filter and cursor: stored and returned byte for byte, filters match exactly
 * the rows that hold the value, refused values get 400, never 500, and every table is still there.
 */
export function describeInjection(size: InjectionSize): void {
  describe(`SQL and JSON injection with ${HOSTILE.length + size.generated} hostile strings`, () => {
    let rt: TestRuntime;
    let tenant: Tenant;
    let hookId: string;
    let hookSecret: string;
    let tablesBefore: string[];
    const values = [...new Set([...HOSTILE, ...generated(size.generated)])];
    const made: Made[] = [];

    const get = async (url: string) => {
      const res = await rt.server.inject({ method: "GET", url, headers: { "x-api-key": tenant.apiKey } });
      return { status: res.statusCode, body: res.json() };
    };

    /** Every row of a list, following next_cursor. */
    const listAll = async (url: string): Promise<Record<string, any>[]> => {
      const rows: Record<string, any>[] = [];
      let cursor: string | null = null;
      do {
        const res = await get(`${url}${url.includes("?") ? "&" : "?"}limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(res.body)}`);
        rows.push(...res.body.data);
        cursor = res.body.next_cursor;
      } while (cursor);
      return rows;
    };

    const tables = async () => (await sql<{ table_name: string }>(rt.database.dataSource,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).rows.map((r) => r.table_name);

    beforeAll(async () => {
      rt = await startTestRuntime({ label: "injection", env: { RATE_LIMIT_MAX: "100000" } });
      tenant = await createTenant(rt, "inject", OWNER);
      tablesBefore = await tables();
      const hook = await rt.server.inject({ method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": tenant.apiKey }, payload: { team_id: tenant.teamId, name: "repository hook", events: ["issues"] } });
      ({ id: hookId, secret: hookSecret } = hook.json());

      // Each value is a title, a body and a label of an App delivery, and the repository name of a repository webhook's delivery.
      const sends = values.flatMap((value, i) => {
        const labels = [value, values[(i + 1) % values.length]!].map((l) => l.slice(0, 1000));
        const app = signedDelivery(APP_WEBHOOK_SECRET, "issues", issueOpened({ owner: OWNER, repo: "app", number: i + 1, title: value, body: value, labels, installationId: 9_500_001 }));
        const repo = value.replace(/\//g, "∕").slice(0, 200);
        const viaHook = signedDelivery(hookSecret, "issues", issueOpened({ owner: OWNER, repo, number: 1, title: `repo ${i}`, labels: [], installationId: null }));
        return [
          { url: "/api/github/webhooks", signed: app, title: value, labels, repository: `${OWNER}/app` },
          { url: `/api/v1/webhooks/${hookId}/receive`, signed: viaHook, title: `repo ${i}`, labels: [] as string[], repository: `${OWNER}/${repo}` },
        ];
      });
      for (let at = 0; at < sends.length; at += 10) {
        await Promise.all(sends.slice(at, at + 10).map(async (send) => {
          const res = await rt.server.inject({ method: "POST", url: send.url, headers: send.signed.headers, payload: send.signed.payload });
          if (res.statusCode !== 202) throw new Error(`${send.url}: ${res.statusCode} ${res.body}`);
          const delivery = await settled(rt, res.json().delivery_id);
          if (delivery.status !== "processed") throw new Error(`${send.title}: ${delivery.status} ${delivery.action_taken ?? delivery.error}`);
          made.push({ title: send.title, labels: send.labels, repository: send.repository, taskId: delivery.task_id!, deliveryId: delivery.id });
        }));
      }
    }, 240_000);

    afterAll(async () => {
      await rt?.stop();
    });

    it("stores titles, labels, bodies and repository names from deliveries verbatim", async () => {
      const tasks = new Map((await listAll(`/api/v1/teams/${tenant.teamId}/tasks`)).map((t) => [t.id as number, t]));
      const wrong: string[] = [];
      for (const m of made) {
        const task = tasks.get(m.taskId);
        const tags = [...new Set(["github", "issue", ...m.labels.filter((l) => l.length > 0)])];
        if (task?.title !== `[GitHub] ${m.title}`) wrong.push(`title of task ${m.taskId}: ${JSON.stringify(task?.title).slice(0, 100)}`);
        if (JSON.stringify(task?.tags) !== JSON.stringify(tags)) wrong.push(`tags of task ${m.taskId}: ${JSON.stringify(task?.tags).slice(0, 200)}`);
        if (task?.source?.repository !== m.repository) wrong.push(`repository of task ${m.taskId}: ${JSON.stringify(task?.source?.repository)}`);
        if (m.labels.length > 0 && !String(task?.description).includes(`\n\n${m.title}\n\n`)) wrong.push(`description of task ${m.taskId}`);
      }
      const sample = made.filter((m) => m.labels.length > 0).slice(0, 10);
      for (const m of sample) {
        const hooks = await get("/api/v1/webhooks");
        const appHook = hooks.body.data.find((w: { provider: string }) => w.provider === "github_app");
        const delivery = await get(`/api/v1/webhooks/${appHook.id}/deliveries/${m.deliveryId}`);
        if (delivery.body.payload?.issue?.title !== m.title) wrong.push(`payload title of delivery ${m.deliveryId}`);
        if (delivery.body.payload_summary?.issue?.title !== m.title) wrong.push(`summary title of delivery ${m.deliveryId}`);
      }
      reportFigures("injection-stored", { values: values.length, deliveries: made.length, tasks: tasks.size, wrong: wrong.length });
      expect(wrong).toEqual([]);
      expect(tasks.size).toBe(made.length);
    });

    it("matches filters exactly: ?tag=, ?repository= and ?event_type= with hostile values, wildcards included", async () => {
      const all = await listAll(`/api/v1/teams/${tenant.teamId}/tasks`);
      const wrong: string[] = [];
      const probes = [...new Set([...values, "github", "issue", "%25", "*", ".*", ""].filter((v) => v.length > 0 && v.length <= 2000))];
      for (const value of probes) {
        const expected = all.filter((t) => (t.tags as string[]).includes(value)).map((t) => t.id).sort();
        const got = (await listAll(`/api/v1/teams/${tenant.teamId}/tasks?tag=${encodeURIComponent(value)}`)).map((t) => t.id).sort();
        if (JSON.stringify(got) !== JSON.stringify(expected)) wrong.push(`tag ${JSON.stringify(value).slice(0, 60)}: ${got.length} rows, expected ${expected.length}`);
      }
      for (const repository of [...new Set(made.map((m) => m.repository)), `${OWNER}/%`, `${OWNER}/_`, "%", `${OWNER}/' OR '1'='1`]) {
        const expected = all.filter((t) => t.source?.repository === repository).map((t) => t.id).sort();
        const got = (await listAll(`/api/v1/teams/${tenant.teamId}/tasks?repository=${encodeURIComponent(repository)}`)).map((t) => t.id).sort();
        if (JSON.stringify(got) !== JSON.stringify(expected)) wrong.push(`repository ${JSON.stringify(repository).slice(0, 60)}: ${got.length} rows, expected ${expected.length}`);
      }
      const deliveries = await listAll(`/api/v1/webhooks/${hookId}/deliveries`);
      expect(deliveries).toHaveLength(values.length);
      for (const [eventType, expected] of [["issues", values.length], ["issues.opened", values.length], ["issues.closed", 0], ...HOSTILE.slice(0, 12).map((v) => [v, 0] as const), ["issues' OR '1'='1", 0], ["%", 0]] as const) {
        const got = await listAll(`/api/v1/webhooks/${hookId}/deliveries?event_type=${encodeURIComponent(eventType)}`);
        if (got.length !== expected) wrong.push(`event_type ${JSON.stringify(eventType)}: ${got.length} rows, expected ${expected}`);
      }
      reportFigures("injection-filters", { tag_probes: probes.length, wrong: wrong.length });
      expect(wrong).toEqual([]);
    }, 120_000);

    it("refuses hostile values in enum, id and cursor parameters with 400, never 500", async () => {
      const forged = (id: string, at = new Date().toISOString()) => Buffer.from(JSON.stringify([at, id])).toString("base64url");
      const hostile = HOSTILE.filter((v) => v.length < 200);
      // Well-formed but impossible: an integer id past the column's range, dates a timestamptz cannot hold.
      const outOfRange = [forged("9999999999"), forged("1", "-271821-04-20T00:00:00.000Z"), forged("1", "+275760-09-13T00:00:00.000Z")];
      const urls = [
        ...hostile.map((v) => `/api/v1/teams/${tenant.teamId}/tasks?status=${encodeURIComponent(v)}`),
        ...hostile.map((v) => `/api/v1/teams/${tenant.teamId}/tasks?priority=${encodeURIComponent(v)}`),
        ...hostile.map((v) => `/api/v1/teams/${tenant.teamId}/tasks?assignee_id=${encodeURIComponent(v)}`),
        ...hostile.map((v) => `/api/v1/teams/${tenant.teamId}/tasks?cursor=${encodeURIComponent(v)}`),
        // An all-digit id is a cursor the task list could have made; the others are not.
        ...hostile.filter((v) => !/^\d+$/.test(v)).map((v) => `/api/v1/teams/${tenant.teamId}/tasks?cursor=${forged(v)}`),
        ...outOfRange.map((c) => `/api/v1/teams/${tenant.teamId}/tasks?cursor=${c}`),
        ...outOfRange.map((c) => `/api/v1/webhooks?cursor=${c}`),
        ...hostile.map((v) => `/api/v1/webhooks/${hookId}/deliveries?status=${encodeURIComponent(v)}`),
        ...hostile.map((v) => `/api/v1/webhooks/${hookId}/deliveries?cursor=${forged(v)}`),
        ...hostile.map((v) => `/api/v1/webhooks?cursor=${forged(v)}`),
        ...hostile.map((v) => `/api/v1/webhooks?cursor=${encodeURIComponent(v)}`),
        ...hostile.map((v) => `/api/v1/tasks/${encodeURIComponent(v)}`),
      ];
      const wrong: string[] = [];
      for (const url of urls) {
        const res = await get(url);
        if (res.status !== 400 && res.status !== 404) wrong.push(`${url.slice(0, 120)}: ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
        if (typeof res.body?.error?.code !== "string") wrong.push(`${url.slice(0, 120)}: not a JSON error`);
      }
      reportFigures("injection-refused", { requests: urls.length, wrong: wrong.length });
      expect(wrong).toEqual([]);
    });

    it("stores hostile titles and tags sent through the API verbatim, and every table is still there", async () => {
      const fits = values.filter((v) => v.trim().length > 0 && v.length <= 100);
      const wrong: string[] = [];
      for (const value of fits) {
        const created = await rt.server.inject({ method: "POST", url: `/api/v1/teams/${tenant.teamId}/tasks`, headers: { "x-api-key": tenant.apiKey },
          payload: { title: value, description: value, tags: [value, `${value}-2`] } });
        if (created.statusCode !== 201) {
          wrong.push(`create ${JSON.stringify(value)}: ${created.statusCode} ${created.body.slice(0, 120)}`);
          continue;
        }
        const task = (await get(`/api/v1/tasks/${created.json().id}`)).body;
        if (task.title !== value || task.description !== value || JSON.stringify(task.tags) !== JSON.stringify([value, `${value}-2`])) {
          wrong.push(`task for ${JSON.stringify(value)} came back as ${JSON.stringify([task.title, task.tags]).slice(0, 160)}`);
        }
      }
      const tooLong = await rt.server.inject({ method: "POST", url: `/api/v1/teams/${tenant.teamId}/tasks`, headers: { "x-api-key": tenant.apiKey }, payload: { title: "x".repeat(10_000) } });
      expect(tooLong.statusCode).toBe(400);
      expect(wrong).toEqual([]);
      expect(await tables()).toEqual(tablesBefore);
      const counts = await sql<{ tasks: number; deliveries: number }>(rt.database.dataSource,
        "SELECT (SELECT count(*)::integer FROM tasks) AS tasks, (SELECT count(*)::integer FROM webhook_deliveries) AS deliveries");
      expect(counts.rows[0]!.tasks).toBe(made.length + fits.length);
      expect(counts.rows[0]!.deliveries).toBeGreaterThanOrEqual(made.length);
    });
  });
}
