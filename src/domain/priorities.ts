import { TASK_PRIORITIES, type TaskPriority } from "../db/entities/task.js";

/** Highest first: when labels match several the highest wins, and waiting tasks are handed out in this order. */
export const PRIORITY_ORDER: readonly TaskPriority[] = TASK_PRIORITIES;

export const DEFAULT_LABEL_PRIORITIES: Readonly<Record<string, TaskPriority>> = {
  critical: "critical",
  urgent: "critical",
  p0: "critical",
  high: "high",
  important: "high",
  p1: "high",
  low: "low",
  minor: "low",
  p3: "low",
};

/** Maps GitHub labels to a task priority, case-insensitively; `overrides` adds or replaces label names. */
export function priorityFromLabels(
  labels: readonly string[],
  overrides: Readonly<Record<string, TaskPriority>> = {},
): TaskPriority {
  const table: Record<string, TaskPriority> = { ...DEFAULT_LABEL_PRIORITIES };
  for (const [label, priority] of Object.entries(overrides)) table[label.toLowerCase()] = priority;
  let best: TaskPriority | undefined;
  for (const label of labels) {
    const priority = table[label.trim().toLowerCase()];
    if (priority && (best === undefined || PRIORITY_ORDER.indexOf(priority) < PRIORITY_ORDER.indexOf(best))) best = priority;
  }
  return best ?? "medium";
}
