/** The parts of an Octokit request error that tell a rate limit apart. */
export interface GitHubHttpError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined> };
}

/** GitHub's advice for a secondary rate limit that names no time: wait at least a minute. */
const SECONDARY_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * How long GitHub asks us to wait, when the error is a rate limit: Retry-After, else until
 * x-ratelimit-reset when none is left, else a minute for a secondary limit. A plain 403 is no rate limit.
 */
export function rateLimitDelayMs(error: GitHubHttpError, now = Date.now()): number | undefined {
  if (error.status !== 403 && error.status !== 429) return undefined;
  const headers = error.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    return Number.isFinite(reset) ? Math.max(reset - now, 1000) : SECONDARY_RATE_LIMIT_WAIT_MS;
  }
  const secondary = error.status === 429 || /secondary rate limit/i.test(error.message ?? "");
  return secondary ? SECONDARY_RATE_LIMIT_WAIT_MS : undefined;
}
