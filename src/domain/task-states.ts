import type { TaskStatus } from "../db/entities/task.js";

/** The moves a task may make, as the original defines them. */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  todo: ["in_progress", "cancelled"],
  in_progress: ["in_review", "todo", "cancelled"],
  in_review: ["in_approval", "in_progress", "cancelled"],
  in_approval: ["merging", "in_progress", "cancelled"],
  merging: ["done", "in_progress"],
  done: ["archived"],
  cancelled: ["archived"],
  archived: [],
};

/** Statuses a task no longer works in; SQL takes this list as a parameter (`status <> ALL($n::text[])`). */
export const FINISHED: readonly TaskStatus[] = ["done", "cancelled", "archived"];

export function canMove(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses between `from` and `to` along the shortest legal path (both ends included), or null. */
export function pathBetween(from: TaskStatus, to: TaskStatus): TaskStatus[] | null {
  const previous = new Map<TaskStatus, TaskStatus | null>([[from, null]]);
  const queue: TaskStatus[] = [from];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current === to) {
      const path: TaskStatus[] = [];
      for (let s: TaskStatus | null = to; s !== null; s = previous.get(s)!) path.unshift(s);
      return path;
    }
    for (const next of TRANSITIONS[current]) {
      if (!previous.has(next)) {
        previous.set(next, current);
        queue.push(next);
      }
    }
  }
  return null;
}
