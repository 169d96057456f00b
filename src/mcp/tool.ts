import type { DataSource } from "typeorm";
import type { z } from "zod";
import type { AgentScope } from "../domain/agent-scope.js";
import type { Actor } from "../domain/task-events.js";
import type { OutboxRelay } from "../queue/outbox-relay.js";

/** What a tool call works with: the caller's agent and team, and the app's database. */
export interface ToolContext {
  db: DataSource;
  relay: OutboxRelay;
  scope: AgentScope;
  actor: Actor;
}

/** A tool's answer: `data` in the REST API's JSON shape, `text` a short rendering for agents that read only text. */
export interface ToolAnswer {
  data: object;
  text: string;
}

export interface Tool<S extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: S;
  /** How to call it, shown with a refusal for bad arguments. */
  usage: string;
  readOnly: boolean;
  run(context: ToolContext, args: z.infer<S>): Promise<ToolAnswer>;
}

/** Keeps the argument types of `run` tied to the tool's input schema. */
export function defineTool<S extends z.ZodObject>(tool: Tool<S>): Tool {
  return tool as unknown as Tool;
}
