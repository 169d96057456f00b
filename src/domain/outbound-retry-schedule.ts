/** Attempts of one delivery series before it is dead. */
export const OUTBOUND_MAX_ATTEMPTS = 8;

/** Each wait is this many times the one before: with a 10 s first delay, the eighth attempt comes about 23 h after the first. */
export const OUTBOUND_BACKOFF_FACTOR = 4.3;

/** Each wait is stretched or shrunk by up to this share, so that receivers that failed together are not retried together. */
export const OUTBOUND_JITTER = 0.25;

/** The longest single wait, whatever OUTBOUND_BACKOFF_MS says: a day (it must also fit the outbox's integer delay). */
export const OUTBOUND_MAX_WAIT_MS = 86_400_000;

/**
 * How long to wait after failed attempt `attempt` (1 for the first) before the next one; undefined when it
 * was the last. `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, firstDelayMs: number, random: number = Math.random()): number | undefined {
  if (attempt >= OUTBOUND_MAX_ATTEMPTS) return undefined;
  const base = firstDelayMs * OUTBOUND_BACKOFF_FACTOR ** (attempt - 1);
  return Math.min(OUTBOUND_MAX_WAIT_MS, Math.max(1, Math.round(base * (1 - OUTBOUND_JITTER + 2 * OUTBOUND_JITTER * random))));
}
