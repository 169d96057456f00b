import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomUUID } from "node:crypto";
import { RECOVERY_LOCK, recoverDeliveries, recoverMissedDeliveries } from "../../src/queue/workers/recover-deliveries.js";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "missed_deliveries", env: { RECOVER_INTERVAL_MS: "600000" } });
  await createTenant(rt, "acme", "acme-corp");
});
afterAll(async () => {
  await rt?.stop();
});

let nextId = 1000;
function hookDelivery(guid: string, status: "OK" | "Invalid HTTP Response: 503" | "timed out", ageMs: number) {
  return { id: nextId++, guid, delivered_at: new Date(Date.now() - ageMs).toISOString(), status, status_code: status === "OK" ? 202 : 503, event: "issues", action: "opened", redelivery: false };
}

describe("missed GitHub deliveries", () => {
  it("asks GitHub to redeliver, across pages, only the failed deliveries we never stored, within the window", async () => {
    const stored = await deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", number: 1, installationId: 3 }));
    const storedGuid = (await rt.database.dataSource.query("SELECT github_delivery_id FROM webhook_deliveries WHERE id = $1", [stored.id]))[0].github_delivery_id;
    const lost = [randomUUID(), randomUUID(), randomUUID()];
    const laterOk = randomUUID();
    const tooOld = randomUUID();
    rt.github.hookDeliveries.splice(0, rt.github.hookDeliveries.length,
      hookDelivery(lost[0]!, "Invalid HTTP Response: 503", 1000),
      hookDelivery(laterOk, "OK", 2000),
      hookDelivery(storedGuid, "timed out", 3000), // GitHub gave up waiting, but we did store it.
      ...Array.from({ length: 150 }, () => hookDelivery(randomUUID(), "OK", 4000)),
      hookDelivery(lost[1]!, "timed out", 5000),
      hookDelivery(laterOk, "timed out", 6000), // an earlier failure of a delivery that later succeeded
      hookDelivery(lost[2]!, "Invalid HTTP Response: 503", 7000),
      hookDelivery(tooOld, "timed out", 4 * 24 * 3600 * 1000),
    );
    const byGuid = new Map(rt.github.hookDeliveries.map((d) => [d.guid as string, d.id as number]));
    const options = { db: rt.database.dataSource, probot: rt.probot!, log: rt.log, windowMs: 3 * 24 * 3600 * 1000, retryAfterMs: 3_600_000 };
    const first = await recoverMissedDeliveries(options);
    expect(first).toEqual({ listed: 156, missing: 3, requested: 3 });
    // The App's own deliveries are listed with the App's JWT, never an installation token.
    expect(rt.github.appAuthorizations.length).toBeGreaterThan(1);
    for (const authorization of rt.github.appAuthorizations) expect(authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
    expect([...rt.github.redeliveryRequests].sort()).toEqual(lost.map((g) => byGuid.get(g)).sort());
    // Not asked again while the request is recent.
    expect(await recoverMissedDeliveries(options)).toEqual({ listed: 156, missing: 3, requested: 0 });
    expect(rt.github.redeliveryRequests).toHaveLength(3);
  });

  it("runs as a job that the sweeper schedules", async () => {
    const lost = randomUUID();
    rt.github.hookDeliveries.splice(0, rt.github.hookDeliveries.length, hookDelivery(lost, "timed out", 1000));
    const before = rt.github.redeliveryRequests.length;
    await rt.queue.add("recover-deliveries", {}, { jobId: `recover-deliveries-test-${randomUUID()}` });
    await waitFor(async () => rt.github.redeliveryRequests.length > before, 30_000, "redelivery request");
    expect(rt.github.redeliveryRequests.at(-1)).toBe(rt.github.hookDeliveries[0]!.id);
    // The job ends after GitHub's answer: it has let go of the recovery lock once no job runs.
    await waitFor(async () => (await rt.queue.counts())["recover-deliveries"].active === 0, 10_000, "the recovery job's end");
  });

  it("runs in one process at a time: while another holds the recovery lock, a run asks GitHub nothing", async () => {
    const lost = randomUUID();
    rt.github.hookDeliveries.splice(0, rt.github.hookDeliveries.length, hookDelivery(lost, "timed out", 1000));
    const handler = recoverDeliveries({ db: rt.database.dataSource, probot: rt.probot!, log: rt.log, embedded: false, windowMs: 3 * 24 * 3600 * 1000, retryAfterMs: 3_600_000 });
    const context = { jobId: "recover-test", attempt: 1, maxAttempts: 1, isLastAttempt: true };
    const holder = rt.database.dataSource.createQueryRunner();
    const before = rt.github.requests.length;
    try {
      // The job of the test before may still hold the lock for a moment after its request.
      await waitFor(async () => (await holder.query("SELECT pg_try_advisory_lock($1) AS locked", [RECOVERY_LOCK]))[0].locked, 10_000, "the recovery lock");
      await Promise.all([handler({}, context), handler({}, context)]);
      expect(rt.github.requests.slice(before)).toEqual([]);
    } finally {
      await holder.query("SELECT pg_advisory_unlock($1)", [RECOVERY_LOCK]);
      await holder.release();
    }
    await Promise.all([handler({}, context), handler({}, context)]);
    expect(rt.github.redeliveryRequests.filter((id) => id === rt.github.hookDeliveries[0]!.id)).toHaveLength(1);
  });
});
