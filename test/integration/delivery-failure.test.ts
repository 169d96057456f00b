import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "delivery_failure", env: { JOB_ATTEMPTS: "3", JOB_BACKOFF_MS: "30" } });
  await createTenant(rt, "acme", "acme-corp");
  // A real database failure for one title: the handler throws on every try.
  await sql(rt.database.dataSource, `
    CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.title LIKE '%boom%' THEN RAISE EXCEPTION 'tasks refused: boom'; END IF;
      RETURN NEW;
    END $$`);
  await sql(rt.database.dataSource, "CREATE TRIGGER refuse_boom BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_boom()");
});
afterAll(async () => {
  await rt?.stop();
});

describe("a handler that throws", () => {
  it("is retried with backoff, then the delivery is failed with the error", async () => {
    const signed = signedDelivery(APP_WEBHOOK_SECRET, "issues", issueOpened({ owner: "acme-corp", title: "boom", installationId: 1 }));
    const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
    expect(res.statusCode).toBe(202);
    const row = await waitFor(async () => {
      const r = await sql<{ status: string; attempts: number; error: string }>(rt.database.dataSource, "SELECT status, attempts, error FROM webhook_deliveries WHERE id = $1", [res.json().delivery_id]);
      return r.rows[0]?.status === "failed" ? r.rows[0] : undefined;
    });
    expect(row.attempts).toBe(3);
    expect(row.error).toContain("tasks refused: boom");
    expect((await sql(rt.database.dataSource, "SELECT 1 FROM tasks")).rows).toHaveLength(0);
  });
});
