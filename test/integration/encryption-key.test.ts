import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../../src/config.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { sql } from "../../src/db/sql.js";
import { EncryptionKeyMismatchError } from "../../src/domain/encryption-key.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ensureOrganization } from "../../src/domain/organizations.js";
import { createLogger } from "../../src/log.js";
import { startRuntime, type Runtime } from "../../src/runtime.js";
import { signedDelivery, issueOpened } from "../helpers/github-events.js";
import { createTestDatabase, type TestDatabase } from "../helpers/services.js";

const run = promisify(execFile);
const KEY_A = "a1".repeat(32);
const KEY_B = "b2".repeat(32);
const KEY_C = "c3".repeat(32);
const JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789";

let database: TestDatabase;
let dataDir: string;

function start(env: Record<string, string | undefined>, embedded = false): Promise<Runtime> {
  const config = loadConfig({
    ...(embedded ? {} : { DATABASE_URL: database.url, JWT_SECRET }),
    DATA_DIR: dataDir, LOG_LEVEL: "silent", ...env,
  });
  return startRuntime(config, createLogger("silent"), { listen: false });
}

async function receive(rt: Runtime, webhookId: string, secret: string) {
  const signed = signedDelivery(secret, "issues", issueOpened({ number: 3, installationId: null }));
  const res = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${webhookId}/receive`, headers: signed.headers, payload: signed.payload });
  return { status: res.statusCode, body: res.json() };
}

async function newWebhook(rt: Runtime): Promise<{ id: string; secret: string }> {
  const db = rt.database.dataSource;
  const org = await ensureOrganization(db, { slug: `org-${Math.random().toString(36).slice(2, 8)}` });
  const { key } = await createApiKey(db, { orgId: org.id });
  const res = await rt.server.inject({ method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": key }, payload: { name: "hook", provider: "github", events: ["issues"] } });
  return { id: res.json().id, secret: res.json().secret };
}

beforeAll(async () => {
  database = await createTestDatabase("encryption_key");
  dataDir = mkdtempSync(path.join(tmpdir(), "entourage-key-"));
});
afterAll(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("ENCRYPTION_KEY", () => {
  it("refuses to start with another key; the old one as ENCRYPTION_KEY_PREVIOUS opens the secrets until `admin reseal` seals them with the new", async () => {
    let rt = await start({ ENCRYPTION_KEY: KEY_A });
    const hook = await newWebhook(rt);
    expect((await receive(rt, hook.id, hook.secret)).status).toBe(202);
    await rt.close();

    // A changed key: one line naming the variable and what to do, before anything answers a 500.
    const refused = await start({ ENCRYPTION_KEY: KEY_B }).then(async (r) => { await r.close(); return undefined; }, (error: unknown) => error);
    expect(refused).toBeInstanceOf(EncryptionKeyMismatchError);
    expect((refused as Error).message).toMatch(/^ENCRYPTION_KEY: it does not open the secrets stored in the database .*ENCRYPTION_KEY_PREVIOUS and run `npm run admin -- reseal`$/);

    rt = await start({ ENCRYPTION_KEY: KEY_B, ENCRYPTION_KEY_PREVIOUS: KEY_A });
    expect((await receive(rt, hook.id, hook.secret)).status).toBe(202);
    await rt.close();

    const env = { ...process.env, DATABASE_URL: database.url, JWT_SECRET, ENCRYPTION_KEY: KEY_B, ENCRYPTION_KEY_PREVIOUS: KEY_A, DATA_DIR: dataDir, ENV_FILE: path.join(dataDir, "none.env") };
    const resealed = await run(process.execPath, [path.resolve("dist/cli/admin.js"), "reseal"], { env });
    expect(JSON.parse(resealed.stdout)).toEqual({ resealed: 1 });
    const again = await run(process.execPath, [path.resolve("dist/cli/admin.js"), "reseal"], { env });
    expect(JSON.parse(again.stdout)).toEqual({ resealed: 0 });

    rt = await start({ ENCRYPTION_KEY: KEY_B });
    expect((await receive(rt, hook.id, hook.secret)).status).toBe(202);

    // A secret no key of the server opens answers 503, never a 500.
    const stray = new SecretBox(Buffer.from(KEY_C, "hex")).seal("whsec_sealed_with_another_key");
    await sql(rt.database.dataSource, "UPDATE webhooks SET secret = $2 WHERE id = $1", [hook.id, stray]);
    expect(await receive(rt, hook.id, hook.secret)).toEqual({ status: 503, body: { error: { code: "secret_unreadable", message: expect.stringContaining("ENCRYPTION_KEY") } } });
    await rt.close();
  });

  it("the embedded default's secrets keep working once ENCRYPTION_KEY is set, as the README's Deploying says to", async () => {
    const embeddedDir = mkdtempSync(path.join(tmpdir(), "entourage-key-embedded-"));
    try {
      let rt = await start({ DATA_DIR: embeddedDir }, true);
      const hook = await newWebhook(rt);
      await rt.close();
      rt = await start({ DATA_DIR: embeddedDir, ENCRYPTION_KEY: KEY_B, JWT_SECRET }, true);
      expect((await receive(rt, hook.id, hook.secret)).status).toBe(202);
      await rt.close();
    } finally {
      rmSync(embeddedDir, { recursive: true, force: true });
    }
  });
});
