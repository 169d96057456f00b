import type { DataSource } from "typeorm";
import type { SecretBox } from "../../crypto/secret-box.js";
import { claimAttempt, recordAttempt } from "../../domain/outbound-deliveries.js";
import { openCredentials } from "../../domain/outbound-webhooks.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import { attemptNotification, type AttemptResult } from "../../outbound/deliver.js";
import type { UrlGuard } from "../../outbound/url-guard.js";
import { RetryLaterError, type JobHandler } from "../queue.js";

export interface OutboundDeps {
  db: DataSource;
  log: Logger;
  /** Opens the stored secrets and API key. */
  box: SecretBox;
  metrics: Metrics;
  guard: UrlGuard;
  /** Time limit of one attempt. */
  timeoutMs: number;
  /** Wait after the first failed attempt. */
  backoffMs: number;
  /** A subscription failing this long with no success is turned off. */
  disableAfterMs: number;
}

/** Covers the DNS check and recording the outcome on top of the attempt's own time limit. */
const LEASE_MARGIN_MS = 30_000;

/**
 * Makes one attempt of an outbound delivery. Failures are not thrown: the next attempt is its own job,
 * scheduled by recordAttempt with the backoff, so every attempt shows in the delivery log.
 */
export function sendOutbound(deps: OutboundDeps): JobHandler<"outbound"> {
  return async (job) => {
    const claim = await claimAttempt(deps.db, job, deps.timeoutMs + LEASE_MARGIN_MS);
    if (claim.kind === "busy") throw new RetryLaterError(claim.retryInMs);
    if (claim.kind === "skip") return;
    const { delivery, webhook } = claim;
    const { secrets, apiKey } = openCredentials(webhook, deps.box);
    const outcome: AttemptResult = secrets
      ? await attemptNotification(
        { deliveryId: delivery.id, event: delivery.event, body: delivery.body, url: webhook.url, secrets, apiKey },
        deps.guard,
        deps.timeoutMs,
      )
      : { refused: true, error: "the outbound webhook has no secret" };
    const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
    // Counted before it is recorded, so a delivery seen settled in the log is already in the count.
    deps.metrics.outboundAttempts.inc({ result: ok ? "delivered" : outcome.refused ? "refused" : "failed" });
    const recorded = await recordAttempt(deps.db, claim, { ok, responseCode: outcome.status, error: outcome.error }, {
      firstDelayMs: deps.backoffMs,
      disableAfterMs: deps.disableAfterMs,
    });
    if (!recorded) return;
    const fields = {
      delivery_id: delivery.id,
      outbound_webhook_id: webhook.id,
      event: delivery.event,
      task_id: delivery.task_id,
      attempt: delivery.attempts,
      response_code: outcome.status ?? null,
      status: recorded.status,
      next_attempt_at: recorded.nextAttemptAt,
    };
    if (ok) deps.log.info(fields, "outbound notification delivered");
    else deps.log.warn({ ...fields, err: outcome.error }, recorded.status === "dead" ? "outbound notification dead after its last attempt" : "outbound notification failed; retrying");
    if (recorded.disabled) deps.log.warn({ outbound_webhook_id: webhook.id }, "outbound webhook turned off after failing too long");
  };
}
