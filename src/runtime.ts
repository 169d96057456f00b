import type { FastifyInstance } from "fastify";
import type { Probot } from "probot";
import { entourageApp } from "./app.js";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/data-source.js";
import { seedEmptyDatabase } from "./first-run.js";
import { createProbot, type ProbotOptions } from "./github/probot.js";
import { buildServer } from "./http/server.js";
import { localSecret } from "./local-secrets.js";
import type { Logger } from "./log.js";
import { createQueue } from "./queue/create-queue.js";
import { DEFAULT_RETRY } from "./queue/jobs.js";
import type { JobQueue } from "./queue/queue.js";
import { processDelivery } from "./queue/workers/process-delivery.js";

export interface RuntimeOptions {
  probot?: ProbotOptions;
  /** Listen on config.port (default); false leaves the server for `inject` in tests. */
  listen?: boolean;
}

export interface Runtime {
  config: Config;
  log: Logger;
  database: Database;
  queue: JobQueue;
  server: FastifyInstance;
  probot?: Probot;
  close(): Promise<void>;
}

/** Starts what the role asks for: the HTTP server, the workers, or both. */
export async function startRuntime(config: Config, log: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const db = database.dataSource;
  let jwtSecret = config.jwtSecret;
  if (database.embedded) {
    log.info({ data_dir: config.dataDir }, "using the embedded database (PGlite) in DATA_DIR; set DATABASE_URL to use PostgreSQL");
    jwtSecret ??= localSecret(config.dataDir, "jwt-secret");
    await seedEmptyDatabase(db, config.dataDir, log);
  }
  const retry = { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs };
  const queue = createQueue({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    settings: { defaultRetry: { ...DEFAULT_RETRY, ...retry }, retry: {} },
    log,
  });
  if (queue.kind === "memory") log.info("using the in-process queue; set REDIS_URL to run BullMQ workers on Redis");

  let probot: Probot | undefined;
  if (config.role !== "web") {
    probot = createProbot(config, log, options.probot);
    await probot.load(entourageApp({ db }));
    await queue.work({ "process-delivery": processDelivery({ db, probot, log }) }, { concurrency: config.workerConcurrency });
  }
  if (!config.app && config.role !== "worker") {
    log.warn(`the GitHub App is not configured: register it at http://localhost:${config.port}/setup or set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET`);
  }

  const server = await buildServer({
    db, queue, log,
    appWebhookSecret: config.app?.webhookSecret,
    jwtSecret,
    healthOnly: config.role === "worker",
  });
  if (options.listen !== false) await server.listen({ port: config.port, host: config.host });

  return {
    config, log, database, queue, server, probot,
    async close() {
      await server.close();
      await queue.close(10_000);
      await database.close();
    },
  };
}
