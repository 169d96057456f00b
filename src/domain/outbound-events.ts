import type { TaskStatus } from "../db/entities/task.js";
import { ValidationError } from "./errors.js";

/** The notifications an outbound webhook may subscribe to (or `*` for all of them). */
export const OUTBOUND_EVENTS = [
  "task.created",
  "task.assigned",
  "task.dispatched",
  "task.status_changed",
  "task.completed",
  "task.cancelled",
  "task.progress",
  "task.run_finished",
  "task.pull_request_opened",
  "task.needs_human",
  "delivery.failed",
] as const;
export type OutboundEvent = (typeof OUTBOUND_EVENTS)[number];

const VALID = new Set<string>(["*", ...OUTBOUND_EVENTS]);

/** Lower-cases, checks, de-duplicates and sorts event names; `*` absorbs the others. */
export function normalizeOutboundEvents(events: readonly string[]): string[] {
  const names = [...new Set(events.map((e) => e.trim().toLowerCase()))];
  const unknown = names.filter((name) => !VALID.has(name));
  if (unknown.length > 0) {
    throw new ValidationError(
      `unknown event${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => JSON.stringify(u)).join(", ")}; valid events: *, ${OUTBOUND_EVENTS.join(", ")}`,
      "invalid_events",
    );
  }
  if (names.length === 0) throw new ValidationError("events must name at least one event", "invalid_events");
  return names.includes("*") ? ["*"] : names.sort();
}

export function wantsEvent(events: readonly string[], event: OutboundEvent): boolean {
  return events.includes("*") || events.includes(event);
}

/** A task change as recordTaskEvent receives it. */
export interface TaskChange {
  type: string;
  from?: TaskStatus | null;
  to?: TaskStatus | null;
  data?: Record<string, unknown>;
}

export interface Notification {
  event: OutboundEvent;
  data: Record<string, unknown>;
}

/**
 * The notifications one task change makes, in the order they are sent: a move to done or cancelled is a
 * task.status_changed followed by task.completed or task.cancelled. Changes with no notification make none.
 */
export function notificationsFor(change: TaskChange): Notification[] {
  const extra = change.data ?? {};
  switch (change.type) {
    case "task.created":
      return [{ event: "task.created", data: { status: change.to ?? null, ...extra } }];
    case "task.assigned":
    case "task.dispatched":
    case "task.progress":
    case "task.run_finished":
    case "task.pull_request_opened":
    case "task.needs_human":
      return [{ event: change.type, data: { ...extra } }];
    case "task.status_changed": {
      const move = { from: change.from ?? null, to: change.to ?? null };
      const notifications: Notification[] = [{ event: "task.status_changed", data: { ...move, ...extra } }];
      if (change.to === "done") notifications.push({ event: "task.completed", data: move });
      if (change.to === "cancelled") notifications.push({ event: "task.cancelled", data: move });
      return notifications;
    }
    default:
      return [];
  }
}

/** The JSON body of a notification, keys in the guide's order. */
export function notificationBody(input: {
  event: OutboundEvent;
  taskId: number | null;
  teamId: string | null;
  timestamp: Date;
  data: Record<string, unknown>;
}): string {
  return JSON.stringify({
    event: input.event,
    task_id: input.taskId,
    team_id: input.teamId,
    timestamp: input.timestamp.toISOString(),
    data: input.data,
  });
}
