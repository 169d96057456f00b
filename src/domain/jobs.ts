/** Every background job, its payload, and how it is retried. */
export interface JobPayloads {
  /**
   * Hand stored webhook deliveries to the Probot app: `deliveryId`, or, for deliveries stored together, all of
   * `deliveryIds` (the first of which is `deliveryId`, which names the job).
   */
  "process-delivery": { deliveryId: string; deliveryIds?: string[] };
  /** Give the team's waiting tasks to its idle agents. */
  assign: { teamId: string };
  /** Tell an assigned agent to start; `round` is the task's dispatch_round when it was assigned. */
  dispatch: { taskId: number; round: number };
  /** Free an agent that did not acknowledge its task in time. */
  "dispatch-timeout": { taskId: number; round: number };
  /** Ask GitHub to redeliver the App's failed deliveries that we never stored. */
  "recover-deliveries": Record<string, never>;
  /**
   * Post or edit the task's comment on its GitHub issue or pull request. `ref` tells apart comments of which a
   * task has several (a question, a reply); `text` is what such a comment says, fixed when it is asked for.
   */
  "github-comment": { taskId: number; kind: "tracked" | "resolved" | "needs_human" | "question" | "reply"; ref?: string; text?: string };
  /** Add the App's reaction to the task's issue, or to one comment on it; GitHub keeps one per user and content. */
  "github-reaction": { taskId: number; content: "eyes" | "+1" | "rocket"; commentId?: number };
  /** Make attempt `attempt` (1 for the first) of series `series` (0, then one per redeliver) of an outbound delivery. */
  outbound: { deliveryId: string; series: number; attempt: number };
}

export type JobName = keyof JobPayloads;

export const JOB_NAMES: readonly JobName[] = [
  "process-delivery", "assign", "dispatch", "dispatch-timeout", "github-comment", "github-reaction", "outbound", "recover-deliveries",
];

/** The jobs decided inside a transaction: written to job_outbox with it, queued once it commits. */
export const OUTBOX_JOBS = [
  "assign", "dispatch", "dispatch-timeout", "github-comment", "github-reaction", "outbound", "process-delivery",
] as const satisfies readonly JobName[];

export type OutboxJobName = (typeof OUTBOX_JOBS)[number];

/**
 * Outbox jobs that their own row brings back when a queue loses them, so that the outbox lets go of them once
 * they are queued: the sweeper queues again every delivery left `received`.
 */
export const SELF_RECOVERING_JOBS = ["process-delivery"] as const satisfies readonly OutboxJobName[];

/** Whether the outbox watches the job until it finishes, to queue it again if a queue loses it. */
export function isWatchedByOutbox(name: JobName): boolean {
  return (OUTBOX_JOBS as readonly JobName[]).includes(name) && !(SELF_RECOVERING_JOBS as readonly JobName[]).includes(name);
}

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
