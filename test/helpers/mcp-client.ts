import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { AddressInfo } from "node:net";
import type { TestRuntime } from "./app-runtime.js";

export interface ToolCall {
  isError: boolean;
  /** The text content, joined. */
  text: string;
  /** structuredContent as the server sent it. */
  data: any;
}

/** The app's HTTP server on a loopback port (startTestRuntime does not listen); returns the /mcp URL. */
export async function listenOnLoopback(rt: TestRuntime): Promise<string> {
  if (!rt.server.server.listening) await rt.server.listen({ port: 0, host: "127.0.0.1" });
  const { port } = rt.server.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}/mcp`;
}

/** A coding agent's MCP connection over real HTTP, with its key as a bearer token; it keeps a transcript. */
export class AgentClient {
  readonly transcript: string[] = [];
  private constructor(private readonly client: Client) {}

  static async connect(url: string, key: string, headers: Record<string, string> = { authorization: `Bearer ${key}` }): Promise<AgentClient> {
    const client = new Client({ name: "entourage-test-agent", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return new AgentClient(client);
  }

  async listTools(): Promise<{ name: string; description?: string; inputSchema: Record<string, unknown> }[]> {
    const { tools } = await this.client.listTools();
    this.transcript.push(`→ tools/list\n← ${tools.map((t) => t.name).join(", ")}`);
    return tools;
  }

  async call(name: string, args: Record<string, unknown> = {}): Promise<ToolCall> {
    const result = (await this.client.callTool({ name, arguments: args })) as CallToolResult;
    const text = result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
    this.transcript.push(`→ ${name} ${JSON.stringify(args)}\n← ${result.isError ? "isError: " : ""}${text}`);
    return { isError: result.isError === true, text, data: result.structuredContent };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
