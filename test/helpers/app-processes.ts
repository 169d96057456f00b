import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { testPrivateKey } from "./private-key.js";
import { ADMIN_CLI } from "./processes.js";

export const PROCESS_WEBHOOK_SECRET = "chaos-app-webhook-secret";
// Every process of a test must share these: a key one process seals with, another must open with.
const JWT_SECRET = randomBytes(32).toString("hex");
const ENCRYPTION_KEY = randomBytes(32).toString("hex");

/** What every app process of a multi-process test gets besides its database, Redis and role. */
export function appProcessEnv(services: { databaseUrl: string; redisUrl: string; queuePrefix: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    QUEUE_PREFIX: services.queuePrefix,
    APP_ID: "12345",
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET: PROCESS_WEBHOOK_SECRET,
    JWT_SECRET,
    ENCRYPTION_KEY,
    LOG_LEVEL: "warn",
    ...extra,
  };
}

/** `admin bootstrap`: an organization whose github_login is the payloads' owner, with one team. */
export async function bootstrapOrganization(env: Record<string, string>, cwd: string, org: string, githubLogin: string): Promise<{ org_id: string; team_id: string; api_key: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [ADMIN_CLI, "bootstrap", "--org", org, "--github-login", githubLogin, "--team", "core"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as { org_id: string; team_id: string; api_key: string };
}
