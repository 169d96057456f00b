import type { FastifyInstance } from "fastify";
import type { Probot } from "probot";
import { entourageApp } from "./app.js";
import { SecretBox } from "./crypto/secret-box.js";
import { Metrics } from "./metrics.js";
import { sealStoredSecrets } from "./domain/webhooks.js";
import { sealStoredOutboundSecrets } from "./domain/outbound-webhooks.js";
import { requireServerSecrets, type Config } from "./config.js";
import { openDatabase, type Database } from "./db/data-source.js";
import { verifyEncryptionKey } from "./domain/encryption-key.js";
import { FinishedDeliveries } from "./domain/deliveries.js";
import { explainFirstApiKey, seedEmptyDatabase } from "./first-run.js";
import { createProbot } from "./github/probot.js";
import { repositoryAccess } from "./github/repository-access.js";
import { startWebhookProxy, webhookProxyTarget, type WebhookProxy, type WebhookProxyClientClass } from "./github/webhook-proxy.js";
import { APP_WEBHOOK_PATH } from "./http/routes/github-app-webhooks.js";
import { SETUP_PATH } from "./http/routes/setup.js";
import { buildServer } from "./http/server.js";
import { DeliveryBatcher } from "./ingress/delivery-batcher.js";
import { originPolicy } from "./mcp/request-origin.js";
import { localSecret } from "./local-secrets.js";
import { ensurePortFree } from "./startup-errors.js";
import type { Logger } from "./log.js";
import { createQueue } from "./queue/create-queue.js";
import { DEFAULT_RETRY, isWatchedByOutbox } from "./domain/jobs.js";
import type { JobHandlers, JobQueue } from "./queue/queue.js";
import { postTaskComment } from "./queue/workers/github-comment.js";
import { addTaskReaction } from "./queue/workers/github-reaction.js";
import { afterEachJob } from "./queue/after-each-job.js";
import { OutboxRelay } from "./queue/outbox-relay.js";
import { Sweeper } from "./queue/sweeper.js";
import { assignWaiting } from "./queue/workers/assign.js";
import { dispatch, dispatchTimeout } from "./queue/workers/dispatch.js";
import { deliveryBatches, processDelivery } from "./queue/workers/process-delivery.js";
import { sendOutbound } from "./queue/workers/outbound.js";
import { urlGuard, type UrlGuard } from "./outbound/url-guard.js";
import { recoverDeliveries } from "./queue/workers/recover-deliveries.js";

export interface RuntimeOptions {
  /** Listen on config.port (default); false leaves the server for `inject` in tests. */
  listen?: boolean;
  /** Another smee.io client class for WEBHOOK_PROXY_URL, e.g. a stand-in in tests. */
  webhookProxyClient?: WebhookProxyClientClass;
}

export interface Runtime {
  config: Config;
  log: Logger;
  database: Database;
  queue: JobQueue;
  server: FastifyInstance;
  /** Queues the jobs that committed transactions scheduled. */
  relay: OutboxRelay;
  metrics: Metrics;
  probot?: Probot;
  close(): Promise<void>;
}

/** Starts what the role asks for: the HTTP server, the workers, or both. */
export async function startRuntime(config: Config, log: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  requireServerSecrets(config);
  // A port in use stops the start before the embedded database, its organization and its key are made.
  if (options.listen !== false) await ensurePortFree(config.host, config.port);
  const storage = await openStorage(config, log);
  const { queue, relay, metrics } = openQueue(config, log, storage.database);
  const parts: Parts = { ...storage, queue, relay, metrics, outboundGuard: urlGuard({ allowedHosts: config.outboundAllowedHosts }) };
  const workers = config.role === "web" ? undefined : await startWorkers(config, log, parts);
  const web = await startWeb(config, log, parts, options);

  return {
    config, log, database: storage.database, queue, server: web.server, relay, metrics, probot: workers?.probot,
    async close() {
      await web.webhookProxy?.stop();
      await web.server.close();
      await workers?.sweeper.stop();
      await queue.close(10_000);
      await storage.database.close();
    },
  };
}

/** What every role shares once storage and the queue are open. */
interface Parts {
  database: Database;
  /** Seals and opens the secrets stored in the database. */
  box: SecretBox;
  /** JWT_SECRET, or the embedded database's own. */
  jwtSecret?: string;
  queue: JobQueue;
  relay: OutboxRelay;
  metrics: Metrics;
  outboundGuard: UrlGuard;
}

/** Opens the database (the embedded one, seeded, when there is no DATABASE_URL) and seals secrets stored in clear. */
async function openStorage(config: Config, log: Logger): Promise<Pick<Parts, "database" | "box" | "jwtSecret">> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const db = database.dataSource;
  let jwtSecret = config.jwtSecret;
  let encryptionKey = config.encryptionKey;
  // The embedded default's own key still opens what it sealed once ENCRYPTION_KEY is set (the README's "Deploying").
  let embeddedKey: string | undefined;
  if (database.embedded) {
    log.info({ data_dir: config.dataDir }, "using the embedded database (PGlite) in DATA_DIR; set DATABASE_URL to use PostgreSQL");
    jwtSecret ??= localSecret(config.dataDir, "jwt-secret");
    embeddedKey = localSecret(config.dataDir, "encryption-key");
    encryptionKey ??= embeddedKey;
    await seedEmptyDatabase(db, config.dataDir, log);
  } else if (config.role !== "worker") await explainFirstApiKey(db, log);
  const box = SecretBox.fromText(encryptionKey!, config.encryptionKeyPrevious, embeddedKey);
  if ((await verifyEncryptionKey(db, box)) === "previous") {
    log.warn("the stored secrets were sealed with a previous key (ENCRYPTION_KEY_PREVIOUS, or the embedded database's own): run `npm run admin -- reseal` to seal them with ENCRYPTION_KEY");
  }
  const sealed = { webhooks: await sealStoredSecrets(db, box), outbound_webhooks: await sealStoredOutboundSecrets(db, box) };
  if (sealed.webhooks + sealed.outbound_webhooks > 0) log.info(sealed, "sealed webhook secrets that were stored in clear");
  return { database, box, jwtSecret };
}

/** The job queue (BullMQ on Redis, in-process without REDIS_URL), the relay that feeds it from the outbox, and the metrics. */
function openQueue(config: Config, log: Logger, database: Database): Pick<Parts, "queue" | "relay" | "metrics"> {
  const retry = { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs };
  const queue = createQueue({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    settings: { defaultRetry: { ...DEFAULT_RETRY, ...retry }, retry: {} },
    log,
  });
  if (queue.kind === "memory") log.info("using the in-process queue; set REDIS_URL to run BullMQ workers on Redis");
  return { queue, relay: new OutboxRelay(database.dataSource, queue, log), metrics: new Metrics(queue) };
}

/** The Probot app and a handler for every job, then the sweeper that queues what was stored but not queued, or lost. */
async function startWorkers(config: Config, log: Logger, parts: Parts): Promise<{ probot: Probot; sweeper: Sweeper }> {
  const { database, box, queue, relay, metrics } = parts;
  const db = database.dataSource;
  const probot = createProbot(config, log);
  const finished = new FinishedDeliveries();
  await probot.load(entourageApp({ db, readRepositorySettings: config.app !== undefined, repositorySettingsTtlMs: config.repositorySettingsTtlMs, finished }));
  const handlers: JobHandlers = {
    "process-delivery": processDelivery({ db, probot, log, metrics, finished, batches: deliveryBatches(db, probot, log) }),
    assign: assignWaiting({ db }),
    dispatch: dispatch({ db, ackTimeoutMs: config.dispatchAckTimeoutMs }),
    "dispatch-timeout": dispatchTimeout({ db }),
    "github-comment": postTaskComment({ db, probot, appConfigured: config.app !== undefined, log }),
    "github-reaction": addTaskReaction({ db, probot, appConfigured: config.app !== undefined, log }),
    outbound: sendOutbound({
      db, log, box, metrics, guard: parts.outboundGuard,
      timeoutMs: config.outboundTimeoutMs, backoffMs: config.outboundBackoffMs, disableAfterMs: config.outboundDisableAfterMs,
    }),
    "recover-deliveries": recoverDeliveries({
      db, probot, log, embedded: database.embedded, windowMs: config.recoverWindowMs, retryAfterMs: config.recoverIntervalMs * 3,
    }),
  };
  await queue.work(afterEachJob(handlers, {
    afterEach: () => relay.flushQuietly(),
    onFailure: (job) => metrics.jobFailures.inc({ job }),
    onFinished: async (job, jobId) => {
      if (isWatchedByOutbox(job)) await relay.finished(jobId);
    },
  }), { concurrency: config.workerConcurrency });
  const sweeper = new Sweeper({
    db, queue, relay, log, intervalMs: config.sweepIntervalMs, staleAfterMs: config.staleDeliveryMs,
    recoverEveryMs: config.app ? config.recoverIntervalMs : undefined,
    runs: config.runs,
  });
  if (queue.kind === "memory") await sweeper.recoverAfterRestart();
  sweeper.start();
  return { probot, sweeper };
}

/** The HTTP server (health and metrics only for a worker) and, with WEBHOOK_PROXY_URL, the smee.io client that feeds it. */
async function startWeb(config: Config, log: Logger, parts: Parts, options: RuntimeOptions): Promise<{ server: FastifyInstance; webhookProxy?: WebhookProxy }> {
  const { database, box, queue, relay, metrics } = parts;
  const db = database.dataSource;
  if (!config.app && config.role !== "worker") {
    const setupUrl = `${config.baseUrl ?? `http://localhost:${config.port}`}${SETUP_PATH}`;
    log.warn(`the GitHub App is not configured: register it at ${setupUrl} or set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET`);
  }
  const server = await buildServer({
    db, box, queue, log, relay, metrics, outboundGuard: parts.outboundGuard,
    deliveries: new DeliveryBatcher(db, queue, log),
    rateLimit: { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs, redisUrl: config.redisUrl, prefix: config.redisKeyPrefix },
    trustProxy: config.trustProxy,
    mcpOrigins: originPolicy({ bindHost: config.host, baseUrl: config.baseUrl, allowedHosts: config.mcpAllowedHosts, allowedOrigins: config.mcpAllowedOrigins }),
    appWebhookSecret: config.app?.webhookSecret,
    jwtSecret: parts.jwtSecret,
    jwtTtlSeconds: config.jwtTtlSeconds,
    healthOnly: config.role === "worker",
    runs: {
      settings: config.runs,
      githubUrl: config.githubUrl,
      repositories: config.app && config.role !== "worker" ? repositoryAccess(createProbot(config, log)) : undefined,
    },
    setup: config.app ? undefined : {
      githubUrl: config.githubUrl,
      githubApiUrl: config.githubBaseUrl,
      baseUrl: config.baseUrl,
      webhookProxyUrl: config.webhookProxyUrl,
      envFile: config.envFile,
    },
  });
  if (options.listen !== false) await server.listen({ port: config.port, host: config.host });
  if (!config.webhookProxyUrl || config.role === "worker") return { server };
  const webhookProxy = startWebhookProxy({
    url: config.webhookProxyUrl,
    target: webhookProxyTarget(config.host, config.port, APP_WEBHOOK_PATH),
    log,
    Client: options.webhookProxyClient,
  });
  return { server, webhookProxy };
}
