import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { isDatabaseUnavailable } from "../http/errors.js";
import { agentScope } from "../domain/agent-scope.js";
import { DomainError } from "../domain/errors.js";
import type { Logger } from "../log.js";
import type { OutboxRelay } from "../queue/outbox-relay.js";
import { answered, refused } from "./results.js";
import type { Tool, ToolContext } from "./tool.js";
import { TOOLS } from "./tools/index.js";

export interface McpCaller {
  db: DataSource;
  relay: OutboxRelay;
  log: Logger;
  orgId: string;
  agentId: string;
}

const INSTRUCTIONS = "Entourage hands you tasks from your team's GitHub issues. Start with get_inbox, acknowledge_task what you start, " +
  "move tasks with change_task_status, report_progress as you go, and split large tasks with create_subtasks.";

function listing(tool: Tool) {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.input, { io: "input" }) as { type: "object"; [key: string]: unknown },
    annotations: { readOnlyHint: tool.readOnly },
  };
}

function badArguments(tool: Tool, error: z.ZodError): CallToolResult {
  const issue = error.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return refused("invalid_arguments", `${where}${issue.message}; ${tool.usage}`);
}

async function call(tool: Tool, args: unknown, caller: McpCaller): Promise<CallToolResult> {
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) return badArguments(tool, parsed.error);
  try {
    const context: ToolContext = {
      db: caller.db,
      relay: caller.relay,
      scope: await agentScope(caller.db, caller.orgId, caller.agentId),
      actor: { type: "agent", id: caller.agentId },
    };
    return answered(await tool.run(context, parsed.data));
  } catch (error) {
    if (error instanceof DomainError) return refused(error.code, error.message);
    if (isDatabaseUnavailable(error)) return refused("database_unavailable", "the database is unavailable; try the same call again shortly");
    caller.log.error({ err: error, tool: tool.name }, "MCP tool failed");
    return refused("internal", `${tool.name} failed on the server; nothing was changed if it was a change, and the call may be tried again`);
  }
}

/** One MCP server for one HTTP request of one agent (stateless: any web process can answer the next). */
export function createMcpServer(caller: McpCaller): Server {
  const server = new Server({ name: "entourage", version: "1.0.0" }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS.map(listing) }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = TOOLS.find((t) => t.name === request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}; tools: ${TOOLS.map((t) => t.name).join(", ")}`);
    return call(tool, request.params.arguments, caller);
  });
  return server;
}
