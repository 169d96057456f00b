import { pino, type Logger } from "pino";

export type { Logger };

/** Header and field names whose values never reach a log line. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers[\"x-api-key\"]",
  "req.headers[\"x-hub-signature-256\"]",
  "req.headers[\"x-hub-signature\"]",
  "req.headers.cookie",
  "*.secret",
  "*.api_key",
  "*.token",
  "*.privateKey",
];

export function createLogger(level: string, name = "entourage"): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } });
}
