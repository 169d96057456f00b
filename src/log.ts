import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogFormat } from "./config.js";

export type { Logger };

/** Request headers that carry a credential or prove one: never logged, never kept with a delivery. */
export const SECRET_HEADERS = ["authorization", "proxy-authorization", "cookie", "x-api-key", "x-hub-signature", "x-hub-signature-256"];

/** Header and field names whose values never reach a log line. */
export const REDACTED_PATHS = [
  ...SECRET_HEADERS.map((name) => `req.headers["${name}"]`),
  "*.secret",
  "*.api_key",
  "*.token",
  "*.privateKey",
];

/** JSON lines, or readable lines for a person at a terminal (the default when stdout is one). */
export function createLogger(level: string, name = "entourage", format?: LogFormat): Logger {
  const options = { name, level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
  if ((format ?? (process.stdout.isTTY ? "pretty" : "json")) === "json") return pino(options);
  // In this thread and synchronous, so the line before a process.exit is written.
  return pino(options, pretty({ sync: true, colorize: process.stdout.isTTY === true }));
}
