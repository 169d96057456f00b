// Every knob of the bench, read from the environment once.
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export class SettingsError extends Error {}

function integer(env, name, fallback, min = 0) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new SettingsError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function integers(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const values = raw.split(",").map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new SettingsError(`${name} must be a comma-separated list of positive integers`);
  return values;
}

/** `2kb,25kb` → [{ name: "2kb", bytes: 2048 }, …] */
function sizes(env, name, fallback) {
  const raw = env[name] || fallback;
  return raw.split(",").map((part) => {
    const match = /^(\d+)kb$/i.exec(part.trim());
    if (!match || Number(match[1]) < 2) throw new SettingsError(`${name}: each size is like 2kb or 25kb (at least 2kb), got ${JSON.stringify(part)}`);
    return { name: `${Number(match[1])}kb`, bytes: Number(match[1]) * 1024 };
  });
}

const PHASES = ["ingest", "rate", "scaling", "bulk", "soak"];
/** The soak runs only when asked for: it takes ten minutes. */
const DEFAULT_PHASES = ["ingest", "rate", "scaling", "bulk"];

function phases(env) {
  const soak = Number(env.BENCH_SOAK_S) > 0;
  const raw = env.BENCH_PHASES || [...DEFAULT_PHASES, ...(soak ? ["soak"] : [])].join(",");
  const chosen = raw.split(",").map((p) => p.trim());
  const unknown = chosen.filter((p) => !PHASES.includes(p));
  if (unknown.length > 0) throw new SettingsError(`BENCH_PHASES: unknown phase ${unknown.join(", ")} (known: ${PHASES.join(", ")})`);
  return new Set(chosen);
}

export function loadSettings(env = process.env) {
  const workers = integer(env, "BENCH_WORKERS", 2, 1);
  return {
    appDir: path.resolve(env.BENCH_APP_DIR || REPO_ROOT),
    postgresUrl: env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
    redisUrl: env.BENCH_REDIS_URL || env.TEST_REDIS_URL || "redis://127.0.0.1:6379",
    phases: phases(env),
    sizes: sizes(env, "BENCH_SIZES", "2kb,25kb"),
    connections: integer(env, "BENCH_CONNECTIONS", 32, 1),
    durationS: integer(env, "BENCH_DURATION_S", 10, 1),
    warmupS: integer(env, "BENCH_WARMUP_S", 3),
    rate: integer(env, "BENCH_RATE", 500, 1),
    rateDurationS: integer(env, "BENCH_RATE_DURATION_S", 5, 1),
    rateSizes: sizes(env, "BENCH_RATE_SIZES", "25kb"),
    rateWorkers: integer(env, "BENCH_RATE_WORKERS", workers, 1),
    processingSize: sizes(env, "BENCH_PROCESSING_SIZE", "2kb")[0],
    scalingWorkers: integers(env, "BENCH_SCALING_WORKERS", [1, 2, 4]),
    // At 2,000 deliveries/s, 1,000 would take half a second: the workers' start would weigh as much as their pace.
    scalingDeliveries: integer(env, "BENCH_SCALING_DELIVERIES", 5000, 1),
    bulkDeliveries: integer(env, "BENCH_BULK_DELIVERIES", 10_000, 1),
    workers,
    workerConcurrency: env.BENCH_WORKER_CONCURRENCY ? integer(env, "BENCH_WORKER_CONCURRENCY", 8, 1) : undefined,
    soakS: integer(env, "BENCH_SOAK_S", 600, 1),
    soakRate: integer(env, "BENCH_SOAK_RATE", 200, 1),
    soakWarmupS: integer(env, "BENCH_SOAK_WARMUP_S", 60),
    drainTimeoutS: integer(env, "BENCH_DRAIN_TIMEOUT_S", 600, 1),
    profile: env.BENCH_PROFILE === "1",
    resultsDir: path.resolve(env.BENCH_RESULTS_DIR || path.join(REPO_ROOT, "bench", "results")),
  };
}
