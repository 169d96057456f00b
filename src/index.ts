import { ConfigError, loadConfig, loadEnvFile } from "./config.js";
import { DataDirLockedError } from "./db/data-dir-lock.js";
import { EncryptionKeyMismatchError } from "./domain/encryption-key.js";
import { createLogger } from "./log.js";
import { startRuntime } from "./runtime.js";
import { describeStartupFailure } from "./startup-errors.js";

loadEnvFile();

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`entourage: configuration error: ${error.message}`);
  process.exit(1);
}

const log = createLogger(config.logLevel, "entourage", config.logFormat);
try {
  const runtime = await startRuntime(config, log);
  log.info({ role: config.role, port: config.port }, "entourage started");
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await runtime.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
} catch (error) {
  const known = error instanceof DataDirLockedError || error instanceof ConfigError || error instanceof EncryptionKeyMismatchError;
  const line = known ? (error as Error).message : describeStartupFailure(error, config);
  if (line === undefined) {
    log.fatal({ err: error }, "entourage failed to start");
  } else {
    // The environment's problem, not a bug: one line, as for the other configuration errors.
    console.error(`entourage: configuration error: ${line}`);
  }
  process.exit(1);
}
