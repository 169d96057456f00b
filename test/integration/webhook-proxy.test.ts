import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config.js";
import { startWebhookProxy, webhookProxyTarget, type WebhookProxyClientOptions } from "../../src/github/webhook-proxy.js";
import { createLogger } from "../../src/log.js";
import { sql } from "../../src/db/sql.js";
import { startRuntime } from "../../src/runtime.js";
import { APP_WEBHOOK_SECRET, TEST_ENCRYPTION_KEY } from "../helpers/app-runtime.js";
import { issueOpened, signature } from "../helpers/github-events.js";
import { testPrivateKey } from "../helpers/private-key.js";
import { waitFor } from "../helpers/wait.js";
import { createRedisPrefix, createTestDatabase, TEST_REDIS_URL } from "../helpers/services.js";

const CHANNEL = "https://smee.io/entourage-test-channel";

/** Stands in for smee-client: records how it was made and whether it runs; no network. */
function fakeSmee() {
  const made: { options: WebhookProxyClientOptions; started: number; stopped: number }[] = [];
  class FakeSmeeClient {
    private readonly record: (typeof made)[number];
    constructor(options: WebhookProxyClientOptions) {
      this.record = { options, started: 0, stopped: 0 };
      made.push(this.record);
    }
    async start() {
      this.record.started++;
      return {};
    }
    async stop() {
      this.record.stopped++;
    }
  }
  return { Client: FakeSmeeClient, made };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function services(label: string) {
  const database = await createTestDatabase(label);
  const redis = createRedisPrefix(label);
  const dataDir = mkdtempSync(path.join(tmpdir(), "entourage-proxy-"));
  cleanups.push(() => database.drop(), () => redis.clean(), () => rmSync(dataDir, { recursive: true, force: true }));
  return {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: redis.prefix,
    DATA_DIR: dataDir,
    JWT_SECRET: "test-jwt-secret-that-is-long-enough-0123456789",
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: "silent",
  };
}

describe("webhookProxyTarget", () => {
  it.each([
    ["0.0.0.0", 3000, "http://127.0.0.1:3000/api/github/webhooks"],
    ["::", 3000, "http://127.0.0.1:3000/api/github/webhooks"],
    ["127.0.0.1", 8080, "http://127.0.0.1:8080/api/github/webhooks"],
    ["::1", 3000, "http://[::1]:3000/api/github/webhooks"],
  ])("listening on %s:%d → %s", (host, port, expected) => {
    expect(webhookProxyTarget(host, port, "/api/github/webhooks")).toBe(expected);
  });
});

describe("WEBHOOK_PROXY_URL", () => {
  it("starts a smee client from the channel to the local App endpoint, and stops it on close", async () => {
    const smee = fakeSmee();
    const config = loadConfig({ ...(await services("proxy_all")), WEBHOOK_PROXY_URL: CHANNEL, PORT: "4123", HOST: "0.0.0.0" });
    const runtime = await startRuntime(config, createLogger("silent"), { listen: false, webhookProxyClient: smee.Client });
    try {
      expect(smee.made).toHaveLength(1);
      expect(smee.made[0]!.options).toMatchObject({ source: CHANNEL, target: "http://127.0.0.1:4123/api/github/webhooks" });
      expect(smee.made[0]!.started).toBe(1);

      // GitHub cannot reach localhost: the App registered from /setup delivers to the channel.
      const setup = await runtime.server.inject({ method: "GET", url: "/setup", headers: { host: "localhost:4123" } });
      expect(setup.body).toContain(`&#34;hook_attributes&#34;:{&#34;url&#34;:&#34;${CHANNEL}&#34;}`);
    } finally {
      await runtime.close();
    }
    expect(smee.made[0]!.stopped).toBe(1);
  });

  it("is not started by a worker, which serves no App endpoint", async () => {
    const smee = fakeSmee();
    const config = loadConfig({ ...(await services("proxy_worker")), WEBHOOK_PROXY_URL: CHANNEL, ROLE: "worker" });
    const runtime = await startRuntime(config, createLogger("silent"), { listen: false, webhookProxyClient: smee.Client });
    await runtime.close();
    expect(smee.made).toHaveLength(0);
  });

  it("is not started without WEBHOOK_PROXY_URL", async () => {
    const smee = fakeSmee();
    const config = loadConfig({ ...(await services("proxy_none")) });
    const runtime = await startRuntime(config, createLogger("silent"), { listen: false, webhookProxyClient: smee.Client });
    await runtime.close();
    expect(smee.made).toHaveLength(0);
  });

  it("keeps the channel URL out of the log, and a failed first connection does not stop the server", async () => {
    const lines: string[] = [];
    const log = createLogger("info");
    const capture = Object.assign(Object.create(log), {
      child: () => ({
        info: (a: unknown, b?: unknown) => lines.push(JSON.stringify([a, b])),
        warn: (a: unknown, b?: unknown) => lines.push(JSON.stringify([a, b])),
      }),
    });
    let options: WebhookProxyClientOptions | undefined;
    class FailingClient {
      constructor(o: WebhookProxyClientOptions) {
        options = o;
      }
      async start(): Promise<unknown> {
        options!.logger.info(`Connected to ${CHANNEL}`);
        options!.logger.error("Error in connection", new Error(`fetch failed for ${CHANNEL}/`));
        throw new Error(`cannot reach ${CHANNEL}`);
      }
      async stop() {}
    }
    const proxy = startWebhookProxy({ url: CHANNEL, target: "http://127.0.0.1:3000/api/github/webhooks", log: capture, Client: FailingClient });
    await new Promise((resolve) => setImmediate(resolve));
    await proxy.stop();
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.join("\n")).not.toContain("entourage-test-channel");
    expect(lines.join("\n")).toContain("Connected to WEBHOOK_PROXY_URL");
    expect(lines.join("\n")).toContain("could not connect to WEBHOOK_PROXY_URL yet");
  });

  it("with the real smee client, a delivery posted to the channel reaches the App endpoint and is stored", async () => {
    // A local stand-in for smee.io: one server-sent event in smee's format, GitHub's headers beside the body.
    const body = issueOpened({ title: "Through the proxy" });
    const deliveryId = "5f0c2a4e-6d1b-4c3a-9e8f-0a1b2c3d4e5f";
    const event = {
      "x-github-event": "issues",
      "x-github-delivery": deliveryId,
      "x-hub-signature-256": signature(APP_WEBHOOK_SECRET, JSON.stringify(body)),
      body,
    };
    const channel = http.createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(`event: ready\ndata: {}\n\ndata: ${JSON.stringify(event)}\n\n`);
    });
    await new Promise<void>((resolve) => channel.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => {
      channel.closeAllConnections();
      channel.close();
    });
    const port = await freePort();
    const config = loadConfig({
      ...(await services("proxy_real")),
      WEBHOOK_PROXY_URL: `http://127.0.0.1:${(channel.address() as AddressInfo).port}/entourage`,
      PORT: String(port),
      HOST: "127.0.0.1",
      APP_ID: "12345",
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: APP_WEBHOOK_SECRET,
    });
    const runtime = await startRuntime(config, createLogger(process.env.TEST_LOG_LEVEL ?? "silent"));
    try {
      const stored = await waitFor(async () =>
        (await sql<{ id: string; receiver: string }>(runtime.database.dataSource,
          "SELECT id, receiver FROM webhook_deliveries WHERE github_delivery_id = $1", [deliveryId])).rows[0], 10_000, "the forwarded delivery");
      expect(stored.receiver).toBe("github_app");
    } finally {
      await runtime.close();
    }
  });
});

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
