/** Every background job, its payload, and how it is retried. */
export interface JobPayloads {
  /** Hand one stored webhook delivery to the Probot app. */
  "process-delivery": { deliveryId: string };
}

export type JobName = keyof JobPayloads;

export const JOB_NAMES: readonly JobName[] = ["process-delivery"];

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  /** Delay before the second try; doubles for each try after it. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, backoffMs: 1000 };

export function deliveryJobId(deliveryId: string, round = 0): string {
  return round === 0 ? `delivery-${deliveryId}` : `delivery-${deliveryId}-r${round}`;
}
