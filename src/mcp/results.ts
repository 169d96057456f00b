import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Task } from "../db/entities/task.js";
import type { ToolAnswer } from "./tool.js";

/** A successful call: structured data for programs, and the same in a few lines for agents that read only text. */
export function answered(answer: ToolAnswer): CallToolResult {
  return {
    content: [{ type: "text", text: answer.text }],
    // Dates become ISO strings, exactly as the REST API sends them.
    structuredContent: JSON.parse(JSON.stringify(answer.data)) as Record<string, unknown>,
  };
}

/** What an agent may do instead, for refusals whose message names only what is wrong. */
const NEXT_STEPS: Record<string, string> = {
  not_found: "list_tasks lists the tasks of your team, which are the ones you can reach",
  blocked_by_dependencies: "move those to done first, or work on another task",
  invalid_dependency: "depends_on takes the 0-based index of an earlier item, or the id of a task of your team (\"#601\")",
  dependency_cycle: "depend only on tasks that do not depend on this one",
};

/** A refused call: one line saying what is wrong and what would be allowed; never a protocol error. */
export function refused(code: string, message: string): CallToolResult {
  const next = NEXT_STEPS[code];
  const line = `${message}${next ? `; ${next}` : ""}`.replace(/\s+/g, " ").trim();
  return { content: [{ type: "text", text: line }], structuredContent: { error: { code, message: line } }, isError: true };
}

/** "#601 [in_progress] high: Add dark mode" */
export function taskLine(task: Pick<Task, "id" | "status" | "priority" | "title">): string {
  return `#${task.id} [${task.status}] ${task.priority}: ${task.title}`;
}
