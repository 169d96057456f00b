/** "#601-#603" for consecutive ids, "#601, #605" otherwise, mixed as needed. */
export function formatTaskIds(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `#${sorted[i]}-#${sorted[j]}` : `#${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(", ");
}

export type CommentKind = "tracked" | "resolved";

/** An invisible line that lets a retry find a comment it posted before it could record it. */
export function commentMarker(taskId: number, kind: CommentKind): string {
  return `<!-- entourage:task-${taskId}:${kind} -->`;
}

export function trackedComment(task: { id: number; priority: string }, assignee: string | null): string {
  const who = assignee ? `assigned to ${assignee}` : "waiting for an agent";
  return `Tracked as Entourage task #${task.id} · priority ${task.priority} · ${who}\n\n${commentMarker(task.id, "tracked")}`;
}

export function resolvedComment(taskId: number, resolvedBy: readonly number[]): string {
  const ids = resolvedBy.length > 0 ? resolvedBy : [taskId];
  const noun = ids.length > 1 ? "tasks" : "task";
  return `Resolved in ${noun} ${formatTaskIds(ids)}\n\n${commentMarker(taskId, "resolved")}`;
}
