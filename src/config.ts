import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseEnv } from "node:util";
import { z } from "zod";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
const LOG_FORMATS = ["pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const ROLES = ["all", "web", "worker"] as const;
export const DEFAULT_ENV_FILE = ".env";
export type Role = (typeof ROLES)[number];

/** An empty variable counts as unset. */
const optionalText = z.preprocess((v) => (v === "" ? undefined : v), z.string().optional());
/** An AES-256 key: 32 bytes as 64 hex characters or base64. */
const aesKey = optionalText.refine((v) => v === undefined || /^[0-9a-fA-F]{64}$/.test(v.trim()) || Buffer.from(v.trim(), "base64").length === 32, {
  message: "must be 32 bytes, as 64 hex characters or base64",
});

const positiveInt = (fallback: number) =>
  z.preprocess((v) => (v === "" || v === undefined ? fallback : v), z.coerce.number().int().positive());

const postgresUrl = optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
  message: "must be a postgres:// or postgresql:// URL",
});
const httpUrl = optionalText.refine((v) => v === undefined || (URL.canParse(v) && /^https?:\/\//.test(v)), {
  message: "must be an http:// or https:// URL",
});

/** Where REDIS_URL points: one server (its URL, as ioredis takes it) or a cluster's seed nodes. */
export type RedisTarget =
  | { cluster: false; url: string }
  | { cluster: true; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/0?)?$/;

/**
 * redis:// and rediss:// name one server, as before; redis+cluster://[user:password@]host:port,host:port (rediss+cluster://
 * for TLS) names a Redis Cluster by some of its nodes. Throws a message for REDIS_URL when it is neither.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { cluster: false, url };
  const match = CLUSTER_URL.exec(url);
  if (!match) throw new Error("must be a redis:// or rediss:// URL, or redis+cluster://host:port,host:port for a cluster");
  const [, scheme, userInfo, hosts] = match;
  const nodes = hosts!.split(",").map((node) => {
    // host:port, [ipv6]:port, or a host alone on the default port.
    const parts = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(node.trim());
    const port = Number(parts?.[3] ?? 6379);
    if (!parts || port < 1 || port > 65_535) throw new Error(`${JSON.stringify(node)} is not host:port; a cluster URL is redis+cluster://host:port,host:port`);
    return { host: parts[1] ?? parts[2]!, port };
  });
  const [user, password] = userInfo === undefined ? [] : userInfo.split(/:(.*)/s, 2).map((part) => decodeURIComponent(part));
  return { cluster: true, nodes, username: user || undefined, password: password || undefined, tls: scheme === "rediss" };
}

const redisUrl = optionalText.superRefine((v, ctx) => {
  if (v === undefined) return;
  try {
    parseRedisUrl(v);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

/** BullMQ's key prefix: on a cluster in a hash tag, so that the keys its scripts touch together share a slot. */
function bullmqPrefix(prefix: string, cluster: boolean): string {
  return cluster && !/\{[^}]+\}/.test(prefix) ? `{${prefix}}` : prefix;
}

// proxy-addr's names for address ranges, as Fastify's trustProxy takes them.
const PROXY_RANGE_NAMES = ["loopback", "linklocal", "uniquelocal"];

function isProxyAddress(value: string): boolean {
  if (PROXY_RANGE_NAMES.includes(value)) return true;
  const [address, prefix, ...rest] = value.split("/");
  const family = isIP(address!);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const trustProxy = z.preprocess((v) => (typeof v === "string" ? v.trim() : ""), z.string()).transform((v, ctx): boolean | string[] => {
  if (v === "" || v.toLowerCase() === "false") return false;
  if (v.toLowerCase() === "true") return true;
  if (/^\d+$/.test(v)) {
    // Fastify 5 trusts nobody for a bare hop count: it cannot tell the proxy from a client that connects directly.
    ctx.addIssue({ code: "custom", message: "a hop count is not supported; name the proxy's addresses or CIDRs, or true" });
    return z.NEVER;
  }
  const entries = v.split(",").map((e) => e.trim()).filter((e) => e.length > 0);
  const bad = entries.find((e) => !isProxyAddress(e));
  if (bad !== undefined) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(bad)} is not an IP address or CIDR; use true, or comma-separated addresses/CIDRs` });
    return z.NEVER;
  }
  return entries;
});

const envSchema = z.object({
  PORT: positiveInt(3000).refine((v) => v < 65536, { message: "must be a TCP port" }),
  HOST: optionalText,
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl,
  APP_ID: optionalText.refine((v) => v === undefined || /^\d+$/.test(v), { message: "must be the numeric GitHub App id" }),
  PRIVATE_KEY: optionalText,
  PRIVATE_KEY_PATH: optionalText,
  WEBHOOK_SECRET: optionalText,
  GHE_HOST: optionalText,
  GHE_PROTOCOL: z.preprocess((v) => (v === "" ? undefined : v), z.enum(["https", "http"]).optional()),
  BASE_URL: httpUrl,
  WEBHOOK_PROXY_URL: httpUrl,
  ENV_FILE: z.preprocess((v) => (v === "" || v === undefined ? DEFAULT_ENV_FILE : v), z.string()),
  ROLE: z.preprocess((v) => (v === "" || v === undefined ? "all" : v), z.enum(ROLES)),
  DATA_DIR: z.preprocess((v) => (v === "" || v === undefined ? "./.data" : v), z.string()),
  LOG_LEVEL: z.preprocess((v) => (v === "" || v === undefined ? "info" : v), z.enum(LOG_LEVELS)),
  LOG_FORMAT: z.preprocess((v) => (v === "" ? undefined : v), z.enum(LOG_FORMATS).optional()),
  JWT_SECRET: optionalText.refine((v) => v === undefined || v.length >= 32, { message: "must be at least 32 characters" }),
  ENCRYPTION_KEY: aesKey,
  ENCRYPTION_KEY_PREVIOUS: aesKey,
  JWT_TTL_SECONDS: positiveInt(900).refine((v) => v <= 86_400, { message: "must be at most 86400 (tokens are short-lived)" }),
  QUEUE_PREFIX: z.preprocess((v) => (v === "" || v === undefined ? "entourage" : v), z.string()),
  WORKER_CONCURRENCY: positiveInt(8),
  JOB_ATTEMPTS: positiveInt(5),
  JOB_BACKOFF_MS: positiveInt(1000),
  DISPATCH_ACK_TIMEOUT_MS: positiveInt(600_000),
  AGENT_HEARTBEAT_TIMEOUT_S: positiveInt(60),
  AGENT_MAX_RUNS: positiveInt(3),
  REPOSITORY_SETTINGS_TTL_MS: z.preprocess((v) => (v === "" || v === undefined ? 60_000 : v), z.coerce.number().int().min(0)),
  GITHUB_WRITE_SPACING_MS: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(0).optional()),
  RECOVER_INTERVAL_MS: positiveInt(600_000),
  RECOVER_WINDOW_MS: positiveInt(3 * 24 * 3600 * 1000),
  RATE_LIMIT_MAX: positiveInt(600),
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  TRUST_PROXY: trustProxy,
  SWEEP_INTERVAL_MS: positiveInt(5000),
  STALE_DELIVERY_MS: positiveInt(60_000),
  OUTBOUND_ALLOWED_HOSTS: z.preprocess((v) => (typeof v === "string" ? v : ""), z.string())
    .transform((v) => v.split(",").map((h) => h.trim()).filter((h) => h.length > 0)),
  OUTBOUND_BACKOFF_MS: positiveInt(10_000),
  OUTBOUND_TIMEOUT_MS: positiveInt(10_000),
  OUTBOUND_DISABLE_AFTER_MS: positiveInt(86_400_000),
  MCP_ALLOWED_HOSTS: z.preprocess((v) => (typeof v === "string" ? v : ""), z.string())
    .transform((v) => v.split(",").map((h) => h.trim()).filter((h) => h.length > 0)),
  MCP_ALLOWED_ORIGINS: z.preprocess((v) => (typeof v === "string" ? v : ""), z.string())
    .transform((v) => v.split(",").map((h) => h.trim().replace(/\/+$/, "")).filter((h) => h.length > 0)),
});

/** The names of every variable the server reads, for the checks that deployment files and docs name only these. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export interface GitHubAppCredentials {
  appId: string;
  privateKey: string;
  webhookSecret: string;
}

/** A configuration that cannot start; its message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function readPrivateKey(env: z.infer<typeof envSchema>): string | undefined {
  if (env.PRIVATE_KEY) return env.PRIVATE_KEY.replace(/\\n/g, "\n");
  if (!env.PRIVATE_KEY_PATH) return undefined;
  try {
    return readFileSync(env.PRIVATE_KEY_PATH, "utf8");
  } catch {
    throw new ConfigError(`PRIVATE_KEY_PATH: cannot read ${env.PRIVATE_KEY_PATH}`);
  }
}

function appCredentials(env: z.infer<typeof envSchema>): GitHubAppCredentials | undefined {
  const privateKey = readPrivateKey(env);
  const given = { APP_ID: env.APP_ID, PRIVATE_KEY: privateKey, WEBHOOK_SECRET: env.WEBHOOK_SECRET };
  const missing = Object.entries(given).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length === 3) return undefined;
  if (missing.length > 0) {
    throw new ConfigError(`${missing.join(", ")}: required once any of APP_ID, PRIVATE_KEY, WEBHOOK_SECRET is set`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey!)) {
    throw new ConfigError(`${env.PRIVATE_KEY ? "PRIVATE_KEY" : "PRIVATE_KEY_PATH"}: not a PEM private key`);
  }
  return { appId: env.APP_ID!, privateKey: privateKey!, webhookSecret: env.WEBHOOK_SECRET! };
}

/** The environment turned into the configuration the app runs with; the one description of Config. */
const configSchema = envSchema.transform((e, ctx) => {
  if (e.ROLE !== "all" && (!e.DATABASE_URL || !e.REDIS_URL)) {
    const missing = !e.DATABASE_URL ? "DATABASE_URL" : "REDIS_URL";
    ctx.addIssue({ code: "custom", path: [missing], message: `required when ROLE=${e.ROLE} (separate processes share PostgreSQL and Redis)` });
    return z.NEVER;
  }
  const redisCluster = e.REDIS_URL !== undefined && parseRedisUrl(e.REDIS_URL).cluster;
  const githubUrl = e.GHE_HOST ? `${e.GHE_PROTOCOL ?? "https"}://${e.GHE_HOST}` : "https://github.com";
  return {
    port: e.PORT,
    host: e.HOST ?? "0.0.0.0",
    /** Unset: the embedded database (PGlite) in dataDir. */
    databaseUrl: e.DATABASE_URL,
    /** Unset: the in-process queue. redis+cluster://… names a Redis Cluster. */
    redisUrl: e.REDIS_URL,
    redisCluster,
    /** Unset while the GitHub App is not registered yet. */
    app: appCredentials(e),
    /** The GitHub API base URL (GitHub Enterprise Server when GHE_HOST is set). */
    githubBaseUrl: e.GHE_HOST ? `${githubUrl}/api/v3` : undefined,
    /** GitHub's web address: https://github.com, or the GitHub Enterprise Server. */
    githubUrl,
    /** The public address of the web process, without a trailing slash; unset: taken from each request. */
    baseUrl: e.BASE_URL?.replace(/\/+$/, ""),
    /** A smee.io channel whose deliveries are forwarded to the local App endpoint (development). */
    webhookProxyUrl: e.WEBHOOK_PROXY_URL,
    /** The .env file read at start-up, and written by the /setup flow. */
    envFile: e.ENV_FILE,
    role: e.ROLE,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    /** pretty or json; unset: pretty when stdout is a terminal, json otherwise. */
    logFormat: e.LOG_FORMAT,
    jwtSecret: e.JWT_SECRET,
    /** AES-256-GCM key for secrets stored in the database. */
    encryptionKey: e.ENCRYPTION_KEY,
    /** The key the secrets were sealed with before ENCRYPTION_KEY replaced it: opens them until `admin reseal`. */
    encryptionKeyPrevious: e.ENCRYPTION_KEY_PREVIOUS,
    /** Lifetime of the bearer tokens POST /api/v1/auth/token issues. */
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    /** BullMQ's key prefix: QUEUE_PREFIX, in a hash tag ({entourage}) on a cluster. */
    queuePrefix: bullmqPrefix(e.QUEUE_PREFIX, redisCluster),
    /** The prefix of other Redis keys (rate limits): each command touches one key, so they may spread over a cluster. */
    redisKeyPrefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    jobAttempts: e.JOB_ATTEMPTS,
    jobBackoffMs: e.JOB_BACKOFF_MS,
    /** An agent that has not acknowledged its dispatched task by then is freed. */
    dispatchAckTimeoutMs: e.DISPATCH_ACK_TIMEOUT_MS,
    /** The agent runs of a task: a run whose runner sends no heartbeat for so long is lost; so many failed runs and it waits for a person. */
    runs: { heartbeatTimeoutMs: e.AGENT_HEARTBEAT_TIMEOUT_S * 1000, maxRuns: e.AGENT_MAX_RUNS },
    /** How long a worker reuses a repository's .github/entourage.yml before reading it again; 0: every delivery. */
    repositorySettingsTtlMs: e.REPOSITORY_SETTINGS_TTL_MS,
    githubWriteSpacingMs: e.GITHUB_WRITE_SPACING_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    /** How often, and how far back, to ask GitHub for the App deliveries that never reached us. */
    recoverIntervalMs: e.RECOVER_INTERVAL_MS,
    recoverWindowMs: e.RECOVER_WINDOW_MS,
    /** Requests per window for one API key or, without a proven key, one client address. */
    rateLimitMax: e.RATE_LIMIT_MAX,
    rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
    /** Fastify's trustProxy: which peers' X-Forwarded-For is believed, so that clients behind a proxy are told apart. */
    trustProxy: e.TRUST_PROXY,
    staleDeliveryMs: e.STALE_DELIVERY_MS,
    /** Hosts outbound webhooks may reach on non-public addresses, and over http when loopback (development, tests). */
    outboundAllowedHosts: e.OUTBOUND_ALLOWED_HOSTS,
    /** Delay before an outbound notification's second attempt; each later one waits longer. */
    outboundBackoffMs: e.OUTBOUND_BACKOFF_MS,
    /** Time limit of one outbound attempt, connection to answer. */
    outboundTimeoutMs: e.OUTBOUND_TIMEOUT_MS,
    /** A subscription with failures and no success for this long is turned off. */
    outboundDisableAfterMs: e.OUTBOUND_DISABLE_AFTER_MS,
    mcpAllowedHosts: e.MCP_ALLOWED_HOSTS,
    mcpAllowedOrigins: e.MCP_ALLOWED_ORIGINS,
  };
});

export type Config = z.output<typeof configSchema>;

/** Reads the environment once into a typed configuration; throws ConfigError naming every bad variable, in one line. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
  }
  return parsed.data;
}

/**
 * Reads ENV_FILE (default .env) into the environment. Variables already set win, as with dotenv, but an empty one
 * counts as unset: a container started with APP_ID="" still takes the App that /setup wrote to the file.
 */
export function loadEnvFile(env: Record<string, string | undefined> = process.env): void {
  const file = env.ENV_FILE || DEFAULT_ENV_FILE;
  if (!existsSync(file)) return;
  for (const [key, value] of Object.entries(parseEnv(readFileSync(file, "utf8")))) {
    if (env[key] === undefined || env[key] === "") env[key] = value;
  }
}

const clientEnvSchema = envSchema.pick({ PORT: true, HOST: true, DATA_DIR: true }).extend({ ENTOURAGE_API_KEY: optionalText });

/** How a command-line client of a running app (npm run demo) finds it and its key. */
export interface ClientConfig {
  /** http://HOST:PORT, on loopback when HOST is a wildcard address. */
  url: string;
  /** ENTOURAGE_API_KEY; unset: the key the first start wrote to DATA_DIR/admin-api-key. */
  apiKey?: string;
  dataDir: string;
}

/** How a process on this machine reaches the server listening on host:port: a wildcard address is reached on loopback. */
export function localUrl(host: string | undefined, port: number): string {
  const local = !host || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${local.includes(":") ? `[${local}]` : local}:${port}`;
}

export function loadClientConfig(env: Record<string, string | undefined> = process.env): ClientConfig {
  const parsed = clientEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  const { PORT, HOST, DATA_DIR, ENTOURAGE_API_KEY } = parsed.data;
  return { url: localUrl(HOST, PORT), apiKey: ENTOURAGE_API_KEY, dataDir: DATA_DIR };
}

/** The server's own secrets: the embedded default generates them into DATA_DIR, a real deployment must set them. */
export function requireServerSecrets(config: Config): void {
  if (!config.databaseUrl) return;
  const missing = [...(config.jwtSecret ? [] : ["JWT_SECRET"]), ...(config.encryptionKey ? [] : ["ENCRYPTION_KEY"])];
  if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name}: required when DATABASE_URL is set`).join("; "));
}
