import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { GitHubServer } from "./github-server.js";
import { ChildProcesses } from "./processes.js";
import { createTestDatabase, type TestDatabase } from "./services.js";

/** What a test of real app processes stands on: a log folder, the children, GitHub's stand-in, a database of its own. */
export interface ProcessBed {
  logDir: string;
  children: ChildProcesses;
  github: GitHubServer;
  database: TestDatabase;
  /** A small pool on the test's database, for the test's own checks. */
  pool: pg.Pool;
  /** Stops the children, then removes what the bed made. */
  close(): Promise<void>;
}

export async function openProcessBed(label: string): Promise<ProcessBed> {
  const logDir = mkdtempSync(path.join(tmpdir(), `entourage-${label}-`));
  const children = new ChildProcesses(logDir);
  const github = new GitHubServer();
  await github.start();
  const database = await createTestDatabase(label);
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // An idle connection the server ends (a restart of the shared server) must not fail the test file.
  pool.on("error", () => undefined);
  return {
    logDir, children, github, database, pool,
    async close() {
      await children.stopAll(5000);
      await pool.end();
      await github.close();
      await database.drop();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
