import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { settled } from "../helpers/http.js";

let web: TestRuntime;
let worker: TestRuntime | undefined;

beforeAll(async () => {
  web = await startTestRuntime({ label: "role_web", env: { ROLE: "web" } });
});
afterAll(async () => {
  // The worker shares the web process's database and queue, which web.stop() removes.
  await worker?.stop();
  await web?.stop();
});

async function deliveryStatus(id: string): Promise<string> {
  const rows = await sql<{ status: string }>(web.database.dataSource, "SELECT status FROM webhook_deliveries WHERE id = $1", [id]);
  return rows.rows[0]!.status;
}

describe("ROLE=web and ROLE=worker", () => {
  it("web stores and queues a delivery but runs no worker; a worker process on the same database and queue finishes it", async () => {
    await createTenant(web, "acme", "acme-corp");
    const signed = signedDelivery(APP_WEBHOOK_SECRET, "issues", issueOpened({ owner: "acme-corp", number: 7, installationId: 31 }));
    const res = await web.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
    expect(res.statusCode).toBe(202);
    const deliveryId = res.json().delivery_id as string;
    // Far longer than a worker in the same process takes (tens of milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await deliveryStatus(deliveryId)).toBe("received");
    expect(web.probot).toBeUndefined();

    worker = await startTestRuntime({
      label: "role_worker",
      env: { ROLE: "worker", DATABASE_URL: web.config.databaseUrl!, QUEUE_PREFIX: web.config.queuePrefix },
    });
    const done = await settled(web, deliveryId);
    expect(done).toMatchObject({ status: "processed", action_taken: `task_created:${done.task_id}` });
  });

  it("a worker serves health and nothing else over HTTP", async () => {
    const health = await worker!.server.inject({ method: "GET", url: "/api/v1/health" });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: "ok", postgres: true, redis: true });
    const signed = signedDelivery(APP_WEBHOOK_SECRET, "issues", issueOpened({ owner: "acme-corp", number: 8, installationId: 31 }));
    const routes: [string, string, Record<string, string>?, string?][] = [
      ["GET", "/api/v1/webhooks"],
      ["POST", "/api/v1/webhooks"],
      ["POST", "/api/github/webhooks", signed.headers, signed.payload],
      ["GET", "/api/openapi.json"],
      ["GET", "/setup"],
    ];
    for (const [method, url, headers, payload] of routes) {
      const res = await worker!.server.inject({ method: method as "GET" | "POST", url, headers, payload });
      expect({ method, url, status: res.statusCode, code: res.json().error?.code }).toEqual({ method, url, status: 404, code: "not_found" });
    }
    const stored = await sql(web.database.dataSource, "SELECT id FROM webhook_deliveries WHERE github_delivery_id = $1", [signed.deliveryId]);
    expect(stored.rows).toEqual([]);
  });

  it("web serves the API and the App endpoint", async () => {
    expect((await web.server.inject({ method: "GET", url: "/api/v1/health" })).json()).toEqual({ status: "ok", postgres: true, redis: true });
    expect((await web.server.inject({ method: "GET", url: "/api/v1/webhooks" })).statusCode).toBe(401);
  });
});
