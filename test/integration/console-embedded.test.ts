import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let acme: Tenant;
let cookie: string;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "console_embedded", services: false });
  acme = await createTenant(rt, "acme");
  const login = await rt.server.inject({
    method: "POST", url: "/admin/login", headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({ key: acme.apiKey }).toString(),
  });
  expect(login.statusCode).toBe(303);
  cookie = String(login.headers["set-cookie"]).split(";")[0]!;
});
afterAll(async () => {
  await rt?.stop();
});

const get = (url: string) => rt.server.inject({ method: "GET", url, headers: { cookie } });

describe("the console on the embedded default (PGlite, in-process queue)", () => {
  it("serves every page", async () => {
    for (const url of ["/admin", "/admin/deliveries", "/admin/tasks", "/admin/agents", "/admin/outbound", "/admin/installations", "/admin/queues"]) {
      const res = await get(url);
      expect([url, res.statusCode]).toEqual([url, 200]);
    }
  });

  it("says Redis is not used, and shows the in-process queue's counts in place of Bull Board", async () => {
    expect((await get("/admin")).body).toMatch(/Redis<\/strong> not used/);
    const queues = await get("/admin/queues");
    expect(queues.body).toContain("in-process queue");
    expect(queues.body).toContain("process-delivery");
  });
});
