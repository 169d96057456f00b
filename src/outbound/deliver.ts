import { postPinned, type PostResult } from "./send.js";
import { signNotification } from "./sign.js";
import { UnsafeUrlError, vetUrl, type UrlGuard, type VettedTarget } from "./url-guard.js";

export interface Notification {
  deliveryId: string;
  event: string;
  body: string;
  url: string;
  /** The current secret first, then the previous one during its grace period. */
  secrets: readonly [string, ...string[]];
  apiKey: string | null;
}

/** How an attempt went; `refused` when it was stopped (by the URL guard) before anything was sent. */
export interface AttemptResult extends PostResult {
  refused?: boolean;
}

/** The headers of one attempt; webhook-timestamp (and so webhook-signature) changes with every attempt. */
export function notificationHeaders(notification: Notification, now: Date = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    "content-type": "application/json",
    "user-agent": "Entourage-Webhooks/1",
    "x-entourage-event": notification.event,
    "x-entourage-delivery": notification.deliveryId,
    ...signNotification(notification.secrets, notification.deliveryId, timestamp, notification.body),
    ...(notification.apiKey ? { "x-api-key": notification.apiKey } : {}),
  };
}

/**
 * Makes one attempt: checks the URL again (DNS may have changed since it was registered) and POSTs to the
 * address just checked. A URL the guard refuses is not contacted at all; the attempt fails with the reason.
 */
export async function attemptNotification(notification: Notification, guard: UrlGuard, timeoutMs: number): Promise<AttemptResult> {
  let target: VettedTarget;
  try {
    target = await vetUrl(notification.url, guard);
  } catch (error) {
    if (error instanceof UnsafeUrlError) return { refused: true, error: `refused, not sent: ${error.message}` };
    throw error;
  }
  return postPinned(target, notificationHeaders(notification), notification.body, timeoutMs);
}
