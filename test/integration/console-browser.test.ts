import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { sql } from "../../src/db/sql.js";
import { createAgent } from "../../src/domain/agents.js";
import { createAgentKey } from "../../src/domain/api-keys.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { launchBrowser } from "../helpers/browser.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let hook: { id: string; secret: string };
const dialogs: string[] = [];

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await rt.server.inject({ method: method as "POST", url: path, headers: { "x-api-key": acme.apiKey }, ...(body ? { payload: body as object } : {}) });
  expect(res.statusCode).toBeLessThan(300);
  return res.json();
}

async function send(title: string, number: number): Promise<string> {
  const signed = signedDelivery(hook.secret, "issues", issueOpened({ number, title, installationId: null, owner: "acme", repo: "console" }));
  const res = await fetch(`${base}/api/v1/webhooks/${hook.id}/receive`, { method: "POST", headers: signed.headers, body: signed.payload });
  expect(res.status).toBe(202);
  return ((await res.json()) as { delivery_id: string }).delivery_id;
}

async function signIn(target: Page, key: string): Promise<void> {
  await target.goto(`${base}/admin`);
  await target.waitForURL(/\/admin\/login/);
  await target.fill("#key", key);
  await target.click("button[type=submit]");
  await target.waitForLoadState();
}

async function live(target: Page): Promise<void> {
  await target.waitForSelector("#live-state.on", { timeout: 10_000 });
}

beforeAll(async () => {
  rt = await startTestRuntime({ label: "console_browser" });
  acme = await createTenant(rt, "acme");
  await rt.server.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(rt.server.server.address() as AddressInfo).port}`;
  hook = await api("POST", "/api/v1/webhooks", { team_id: acme.teamId, name: "console repo", events: ["issues"] });
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await context.newPage();
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await rt?.stop();
});

describe("the admin console in Chromium", () => {
  it("signs in with an admin key; the session lives in an HttpOnly, SameSite=Strict cookie and nothing is kept in storage", async () => {
    await signIn(page, acme.apiKey);
    await expect(page.locator("h1").textContent()).resolves.toBe("Overview");
    const [cookie] = (await context.cookies()).filter((c) => c.name === "entourage_console");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/admin" });
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000);
    // Strings evaluated in the page: the test's own TypeScript has no DOM types.
    const stored = await page.evaluate("({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), cookie: document.cookie })");
    expect(stored).toEqual({ local: "{}", session: "{}", cookie: "" });
  });

  it("shows a delivery sent while the deliveries page is open, without a reload", async () => {
    await page.goto(`${base}/admin/deliveries`);
    await live(page);
    await page.evaluate("document.body.setAttribute('data-marker', 'not reloaded')");
    await send("Console live issue", 7001);
    await page.locator("#delivery-list", { hasText: "Console live issue" }).waitFor({ timeout: 15_000 });
    await page.locator("#delivery-list tr", { hasText: "Console live issue" }).locator(".badge-processed").waitFor({ timeout: 15_000 });
    await expect(page.evaluate("document.body.getAttribute('data-marker')")).resolves.toBe("not reloaded");
  });

  it("redelivers a delivery from its page", async () => {
    await page.locator("#delivery-list tr", { hasText: "Console live issue" }).locator("a").first().click();
    await page.waitForURL(/\/deliveries\/[0-9a-f-]+$/);
    const id = page.url().split("/").pop()!;
    await expect(page.locator("pre").first().textContent()).resolves.toContain("Console live issue");
    const headers = await page.locator("section", { hasText: "Headers" }).textContent();
    expect(headers).toContain("x-github-event");
    expect(headers).not.toContain("x-hub-signature");
    await page.click("button:has-text('Redeliver')");
    await page.waitForLoadState();
    const row = await waitFor(async () => {
      const r = (await sql<{ status: string; redeliveries: number }>(rt.database.dataSource, "SELECT status, redeliveries FROM webhook_deliveries WHERE id = $1", [id])).rows[0]!;
      return r.redeliveries === 1 && r.status !== "received" ? r : undefined;
    }, 15_000, "the delivery to be processed again");
    expect(row.status).toBe("processed");
    await page.locator("text=redelivered 1×").waitFor({ timeout: 10_000 });
    const tasks = await sql(rt.database.dataSource, "SELECT id FROM tasks WHERE org_id = $1 AND source->>'number' = '7001'", [acme.orgId]);
    expect(tasks.rows).toHaveLength(1);
  });

  it("moves a task on the board by dragging it to another column", async () => {
    const task = await api("POST", `/api/v1/teams/${acme.teamId}/tasks`, { title: "Drag me to in progress" });
    await page.goto(`${base}/admin/tasks`);
    await page.locator(`section.column[data-status="todo"] #task-${task.id}`).waitFor();
    await Promise.all([
      page.waitForNavigation(),
      page.dragAndDrop(`#task-${task.id}`, 'section.column[data-status="in_progress"]'),
    ]);
    await page.locator(`section.column[data-status="in_progress"] #task-${task.id}`).waitFor();
    const moved = await api("GET", `/api/v1/tasks/${task.id}`);
    expect(moved.status).toBe("in_progress");
    const last = await sql(rt.database.dataSource, "SELECT type, from_status, to_status, actor_type FROM task_events WHERE task_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1", [task.id]);
    expect(last.rows[0]).toEqual({ type: "task.status_changed", from_status: "todo", to_status: "in_progress", actor_type: "api_key" });
  });

  it("shows a change made elsewhere on an open task page, without a reload", async () => {
    const task = await api("POST", `/api/v1/teams/${acme.teamId}/tasks`, { title: "Watch me move" });
    await page.goto(`${base}/admin/tasks/${task.id}`);
    await live(page);
    await api("POST", `/api/v1/tasks/${task.id}/status`, { status: "in_progress" });
    await page.locator("#task-live .actions .badge-in_progress").waitFor({ timeout: 15_000 });
    await page.locator(".timeline li", { hasText: "todo → in_progress" }).waitFor();
  });

  it("opens Bull Board under /admin/queues with the same session", async () => {
    await page.goto(`${base}/admin/queues`);
    await page.locator("text=process-delivery").first().waitFor({ timeout: 15_000 });
  });

  it("shows a task titled <img src=x onerror=alert(1)> as text, and no script runs", async () => {
    const title = "<img src=x onerror=alert(1)>";
    const task = await api("POST", `/api/v1/teams/${acme.teamId}/tasks`, { title, description: "<script>alert(2)</script>" });
    await page.goto(`${base}/admin/tasks`);
    await expect(page.locator(`#task-${task.id} .title`).textContent()).resolves.toBe(`#${task.id} ${title}`);
    await page.goto(`${base}/admin/tasks/${task.id}`);
    await expect(page.locator("h1").textContent()).resolves.toBe(`#${task.id} ${title}`);
    await expect(page.locator("main pre", { hasText: "<script>" }).count()).resolves.toBe(1);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.locator("main script").count()).toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
  });

  it("signs out: the server ends the session, and the old cookie opens nothing", async () => {
    const [before] = (await context.cookies()).filter((c) => c.name === "entourage_console");
    await page.goto(`${base}/admin`);
    await page.click("header .signout button");
    await page.waitForURL(/\/admin\/login/);
    expect((await context.cookies()).filter((c) => c.name === "entourage_console")).toEqual([]);
    const replayed = await fetch(`${base}/admin`, { headers: { cookie: `entourage_console=${before!.value}` }, redirect: "manual" });
    expect(replayed.status).toBe(401);
    await page.goto(`${base}/admin/tasks`);
    await page.waitForURL(/\/admin\/login\?next=/);
  });

  it("refuses an agent key", async () => {
    const agent = await createAgent(rt.database.dataSource, acme.orgId, acme.teamId, { name: "console-bot", role: "engineer" });
    const { key } = await createAgentKey(rt.database.dataSource, acme.orgId, agent.id);
    await signIn(page, key);
    await expect(page.locator("[role=alert]").textContent()).resolves.toContain("an agent key cannot sign in to the console");
    expect((await context.cookies()).filter((c) => c.name === "entourage_console")).toEqual([]);
    await page.goto(`${base}/admin`);
    await page.waitForURL(/\/admin\/login/);
  });
});
