import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config.js";
import { sql } from "../../src/db/sql.js";
import { scheduleJob } from "../../src/domain/outbox.js";
import { createLogger } from "../../src/log.js";
import { startRuntime, type Runtime } from "../../src/runtime.js";
import { waitFor } from "../helpers/wait.js";

let dataDir: string;
/** The runtime open now, closed before its folder goes even when the test fails half-way. */
let open: Runtime | undefined;

async function start(): Promise<Runtime> {
  open = await startRuntime(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent", SWEEP_INTERVAL_MS: "60000", STALE_DELIVERY_MS: "600000" }), createLogger("silent"), { listen: false });
  return open;
}

async function stop(rt: Runtime): Promise<void> {
  await rt.close();
  open = undefined;
}

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "entourage-memory-restart-"));
});
afterAll(async () => {
  await open?.close().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the in-process queue across a restart", () => {
  it("runs at the next start the jobs it had not run when it stopped, at once, without waiting for the sweeper", async () => {
    let rt = await start();
    const db = rt.database.dataSource;
    const team = (await sql<{ id: string }>(db, "SELECT id FROM teams LIMIT 1")).rows[0]!.id;
    // Due in a minute: still waiting in the queue when the process stops.
    await scheduleJob(db, "assign", { teamId: team }, { jobId: "assign-left-behind", delayMs: 60_000 });
    await scheduleJob(db, "assign", { teamId: team }, { jobId: "assign-due-soon", delayMs: 1_500 });
    await rt.relay.flush();
    const enqueued = await sql<{ job_id: string; finished_at: Date | null }>(db, "SELECT job_id, finished_at FROM job_outbox WHERE job_id LIKE 'assign-%' ORDER BY job_id");
    expect(enqueued.rows.map((r) => [r.job_id, r.finished_at])).toEqual([["assign-due-soon", null], ["assign-left-behind", null]]);
    await stop(rt);

    rt = await start();
    try {
      const finished = async (jobId: string) =>
        (await sql<{ finished_at: Date | null }>(rt.database.dataSource, "SELECT finished_at FROM job_outbox WHERE job_id = $1", [jobId])).rows[0]!.finished_at;
      // The sweeper ticks once a minute and calls a job lost ten minutes after it was due: only the restart itself can run it this soon.
      await waitFor(async () => (await finished("assign-due-soon")) !== null, 10_000, "the job due soon to run after the restart");
      expect(await finished("assign-left-behind")).toBeNull();
      // The one due in a minute waits in the new queue with what was left of its delay.
      expect((await rt.queue.counts()).assign.delayed).toBe(1);
    } finally {
      await stop(rt);
    }
  // Two starts of the embedded database: slow on a loaded machine.
  }, 180_000);
});
