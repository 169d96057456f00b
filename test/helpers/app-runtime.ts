import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../../src/config.js";
import { sql } from "../../src/db/sql.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ensureOrganization, ensureTeam } from "../../src/domain/organizations.js";
import { createLogger } from "../../src/log.js";
import { startRuntime, type Runtime } from "../../src/runtime.js";
import { FakeGitHub } from "./fake-github.js";
import { testPrivateKey } from "./private-key.js";
import { createRedisPrefix, createTestDatabase, TEST_REDIS_URL } from "./services.js";

export const APP_WEBHOOK_SECRET = "test-app-webhook-secret";
export const TEST_ENCRYPTION_KEY = "0f".repeat(32);

export interface TestRuntime extends Runtime {
  /** GitHub's API as nock answers it for this test file. */
  github: FakeGitHub;
  /** Deletes what the test made: its database (or data folder) and its Redis keys. */
  stop(): Promise<void>;
}

export interface TestRuntimeOptions {
  label: string;
  /** false: the embedded database and in-process queue (no DATABASE_URL / REDIS_URL). */
  services?: boolean;
  env?: Record<string, string>;
}

/** The whole app in this process, on a database and Redis prefix of the test file's own. */
export async function startTestRuntime(options: TestRuntimeOptions): Promise<TestRuntime> {
  const useServices = options.services !== false;
  const database = useServices ? await createTestDatabase(options.label) : undefined;
  const redis = useServices ? createRedisPrefix(options.label) : undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), "entourage-test-"));
  const config: Config = loadConfig({
    DATABASE_URL: database?.url,
    REDIS_URL: useServices ? TEST_REDIS_URL : undefined,
    QUEUE_PREFIX: redis?.prefix,
    DATA_DIR: dataDir,
    APP_ID: "12345",
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET: APP_WEBHOOK_SECRET,
    JWT_SECRET: "test-jwt-secret-that-is-long-enough-0123456789",
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    JOB_BACKOFF_MS: "50",
    JOB_ATTEMPTS: "3",
    // Production's Octokit, writes one at a time per installation, without GitHub's recommended 1-3 s between them.
    GITHUB_WRITE_SPACING_MS: "0",
    // Tests change a repository's settings file between deliveries: read it every time unless a test says otherwise.
    REPOSITORY_SETTINGS_TTL_MS: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...options.env,
  });
  const github = new FakeGitHub();
  let runtime: Runtime;
  try {
    runtime = await startRuntime(config, createLogger(config.logLevel), { listen: false });
  } catch (error) {
    github.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return Object.assign(runtime, {
    github,
    async stop() {
      await runtime.close();
      github.close();
      await database?.drop();
      await redis?.clean();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface Tenant {
  orgId: string;
  teamId: string;
  apiKey: string;
}

/** An organization with one team and an admin API key. */
export async function createTenant(runtime: Runtime, slug: string, githubLogin?: string): Promise<Tenant> {
  const db = runtime.database.dataSource;
  const org = await ensureOrganization(db, { slug, githubLogin });
  const team = await ensureTeam(db, { orgId: org.id, slug: "core" });
  const { key } = await createApiKey(db, { orgId: org.id });
  return { orgId: org.id, teamId: team.id, apiKey: key };
}

export async function countRows(runtime: Runtime, table: string): Promise<number> {
  const result = await sql<{ n: number }>(runtime.database.dataSource, `SELECT count(*)::integer AS n FROM ${table}`);
  return result.rows[0]!.n;
}
