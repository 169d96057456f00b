import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened, signedDelivery } from "../helpers/github-events.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
const BACKOFF_MS = 150;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "delivery_failure", env: { JOB_ATTEMPTS: "3", JOB_BACKOFF_MS: String(BACKOFF_MS) } });
  await createTenant(rt, "acme", "acme-corp");
  // A real database failure for one title: the handler throws on every try.
  await sql(rt.database.dataSource, `
    CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.title LIKE '%boom%' THEN RAISE EXCEPTION 'tasks refused: boom'; END IF;
      RETURN NEW;
    END $$`);
  await sql(rt.database.dataSource, "CREATE TRIGGER refuse_boom BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_boom()");
  // When each try failed, by Postgres's clock: the error and the count of tries are written together, committed.
  await sql(rt.database.dataSource, "CREATE TABLE delivery_tries (delivery_id uuid, attempt integer, event text, at timestamptz)");
  await sql(rt.database.dataSource, `
    CREATE FUNCTION record_try() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO delivery_tries VALUES (NEW.id, NEW.attempts, TG_ARGV[0], clock_timestamp());
      RETURN NEW;
    END $$`);
  await sql(rt.database.dataSource, "CREATE TRIGGER try_failed AFTER UPDATE OF error ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION record_try('failed')");
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
    // From a try's failure to the next one's: the wait, JOB_BACKOFF_MS then twice that, and the try itself (a few ms of slack for the clocks).
    const waits = (await sql<{ attempt: number; wait_ms: number }>(rt.database.dataSource, `
      SELECT s.attempt, (extract(epoch FROM s.at - f.at) * 1000)::integer AS wait_ms
        FROM delivery_tries s JOIN delivery_tries f ON f.delivery_id = s.delivery_id AND f.attempt = s.attempt - 1
       WHERE s.delivery_id = $1 ORDER BY s.attempt`, [res.json().delivery_id])).rows;
    expect(waits.map((w) => w.attempt)).toEqual([2, 3]);
    expect(waits[0]!.wait_ms).toBeGreaterThanOrEqual(BACKOFF_MS - 5);
    expect(waits[1]!.wait_ms).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 5);
    expect(row.error).toContain("tasks refused: boom");
    expect((await sql(rt.database.dataSource, "SELECT 1 FROM tasks")).rows).toHaveLength(0);
  });
});
