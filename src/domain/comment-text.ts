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

export type CommentKind = "tracked" | "resolved" | "needs_human";

/** An invisible line that lets a retry find a comment it posted before it could record it. */
export function commentMarker(taskId: number, kind: CommentKind): string {
  return `<!-- entourage:task-${taskId}:${kind} -->`;
}

export function trackedComment(task: { id: number; priority: string; pull_request?: { number: number; url: string } | null }, assignee: string | null): string {
  const who = assignee ? `assigned to ${assignee}` : "waiting for an agent";
  const pullRequest = task.pull_request ? ` · pull request [#${task.pull_request.number}](${task.pull_request.url})` : "";
  return `Tracked as Entourage task #${task.id} · priority ${task.priority} · ${who}${pullRequest}\n\n${commentMarker(task.id, "tracked")}`;
}

/** Said once when a task's runs are spent: the agent could not finish, and how a person sends it back to work. */
export function needsHumanComment(taskId: number, failedRuns: number, lastReason: string | null): string {
  const last = lastReason ? ` The last one: ${lastReason}.` : "";
  return `The agent could not finish Entourage task #${taskId}: ${failedRuns} run${failedRuns === 1 ? "" : "s"} failed.${last}\n\n` +
    `It waits for a person. To let an agent try again, an admin calls \`POST /api/v1/tasks/${taskId}/retry\`.\n\n${commentMarker(taskId, "needs_human")}`;
}

export function resolvedComment(taskId: number, resolvedBy: readonly number[]): string {
  const ids = resolvedBy.length > 0 ? resolvedBy : [taskId];
  const noun = ids.length > 1 ? "tasks" : "task";
  return `Resolved in ${noun} ${formatTaskIds(ids)}\n\n${commentMarker(taskId, "resolved")}`;
}
