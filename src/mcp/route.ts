import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance } from "fastify";
import type { DataSource } from "typeorm";
import { errorBody } from "../http/errors.js";
import type { Logger } from "../log.js";
import type { OutboxRelay } from "../queue/outbox-relay.js";
import { refusedOrigin, type OriginPolicy } from "./request-origin.js";
import { createMcpServer } from "./server.js";

export const MCP_PATH = "/mcp";

export interface McpRouteOptions {
  db: DataSource;
  relay: OutboxRelay;
  log: Logger;
  policy: OriginPolicy;
}

/**
 * POST /mcp: the Streamable HTTP transport, stateless (a fresh server and transport per request, JSON answers),
 * so any web process behind a load balancer answers any call. Register it where requests carry a principal.
 */
export async function mcpRoutes(app: FastifyInstance, opts: McpRouteOptions): Promise<void> {
  app.post(MCP_PATH, { schema: { hide: true } }, async (request, reply) => {
    const refusal = refusedOrigin(request.headers, opts.policy);
    if (refusal) return reply.status(403).send(errorBody("forbidden_origin", refusal));
    const { agentId, orgId } = request.principal;
    if (!agentId) {
      return reply.status(403).send(errorBody("agent_key_required", "/mcp acts as one agent: use an agent key (an admin creates one with POST /api/v1/agents/:id/keys)"));
    }
    const server = createMcpServer({ db: opts.db, relay: opts.relay, log: opts.log, orgId, agentId });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });

  // No server-initiated stream and no sessions: the specification's answer is 405.
  for (const method of ["GET", "DELETE"] as const) {
    app.route({
      method, url: MCP_PATH, schema: { hide: true },
      handler: async (_request, reply) => reply.status(405).header("allow", "POST")
        .send(errorBody("method_not_allowed", `${method} ${MCP_PATH} is not served: this MCP server is stateless; send JSON-RPC with POST`)),
    });
  }
}
