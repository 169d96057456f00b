import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { withAdvisoryLock } from "../../src/db/advisory-lock.js";
import { openDatabase } from "../../src/db/data-source.js";
import { RECOVERY_LOCK } from "../../src/queue/workers/recover-deliveries.js";
import { startPgBouncer, type PgBouncer } from "../helpers/pgbouncer.js";
import { ChildProcesses } from "../helpers/processes.js";
import { describeCrashAndRestart } from "../helpers/scenarios/crash-restart.js";
import { describePostgresOutage } from "../helpers/scenarios/postgres-outage.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const postgres = new URL(TEST_DATABASE_URL);
const server = { host: postgres.hostname, port: Number(postgres.port || 5432) };

describe("session state through PgBouncer in transaction pooling mode", () => {
  let logDir: string;
  let children: ChildProcesses;
  let bouncer: PgBouncer;
  let database: TestDatabase;
  let direct: pg.Pool;

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(tmpdir(), "entourage-pgbouncer-"));
    children = new ChildProcesses(logDir);
    // Two server connections handed out in turn: a statement outside a transaction lands on either.
    bouncer = await startPgBouncer(children, logDir, server, { poolSize: 2, roundRobin: true });
    database = await createTestDatabase("pgbouncer_locks");
    direct = new pg.Pool({ connectionString: database.url, max: 1 });
  }, 60_000);

  afterAll(async () => {
    await direct?.end();
    await children?.stopAll(5000);
    await database?.drop();
    rmSync(logDir, { recursive: true, force: true });
  });

  const advisoryLocks = async (): Promise<number> =>
    Number((await direct.query("SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1", [database.name])).rows[0].n);

  it("migrates under a lock that no server connection keeps afterwards, however many processes start at once", async () => {
    const opened = await Promise.all(Array.from({ length: 3 }, () => openDatabase({ databaseUrl: bouncer.url(database.url), dataDir: "/nonexistent", poolSize: 4 })));
    try {
      expect(await advisoryLocks()).toBe(0);
      const again = await openDatabase({ databaseUrl: bouncer.url(database.url), dataDir: "/nonexistent", poolSize: 4 });
      await again.close();
      expect(await advisoryLocks()).toBe(0);
    } finally {
      await Promise.all(opened.map((db) => db.close()));
    }
  }, 60_000);

  it("skips the work another process holds the lock for, and leaves no lock behind (the missed-deliveries recovery)", async () => {
    const db = await openDatabase({ databaseUrl: bouncer.url(database.url), dataDir: "/nonexistent", poolSize: 4 });
    try {
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const first = withAdvisoryLock(db.dataSource, RECOVERY_LOCK, "try", async () => {
        await held;
        return "first";
      });
      await waitFor(async () => (await advisoryLocks()) === 1, 5000, "the first holder's lock");
      expect(await withAdvisoryLock(db.dataSource, RECOVERY_LOCK, "try", async () => "second")).toBeUndefined();
      release();
      expect(await first).toBe("first");
      expect(await advisoryLocks()).toBe(0);
      expect(await withAdvisoryLock(db.dataSource, RECOVERY_LOCK, "try", async () => "third")).toBe("third");
      expect(await advisoryLocks()).toBe(0);
    } finally {
      await db.close();
    }
  });
});

// The scenarios of postgres-outage.test.ts and crash-restart.test.ts with every app process's DATABASE_URL on a
// PgBouncer in transaction pooling mode, which has fewer server connections than the processes' pools.
describePostgresOutage(
  { deliveries: 300, sendWindowMs: 6000, concurrency: 16, outageMs: 2000, drainMs: 90_000 },
  // A query waits at most 1 s for PostgreSQL, so the health route answers 503 within the scenario's 2 s.
  { label: "behind PgBouncer", start: (children, logDir, server) => startPgBouncer(children, logDir, server, { queryWaitTimeoutS: 1 }) },
);

describeCrashAndRestart(
  { deliveries: 200, sendWindowMs: 5000, concurrency: 16, drainMs: 90_000 },
  {
    label: "with PostgreSQL behind PgBouncer",
    databaseUrl: async (children, logDir, database) => (await startPgBouncer(children, logDir, server)).url(database.url),
  },
);
