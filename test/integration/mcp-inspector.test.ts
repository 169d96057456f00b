import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { prepareInspector, runInspector } from "../helpers/mcp-inspector.js";
import { listenOnLoopback } from "../helpers/mcp-client.js";
import { MCP_TOOL_NAMES } from "../helpers/scenarios/mcp-guide-run.js";

// A client nobody here wrote. It needs Node 22; where npm cannot provide it, the test says why and is skipped.
const inspector = await prepareInspector();
if ("unavailable" in inspector) console.warn(`MCP Inspector test skipped: ${inspector.unavailable}`);
const withInspector = "unavailable" in inspector ? it.skip : it;

let rt: TestRuntime;
let url: string;
let key: string;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "mcp_inspector" });
  const acme = await createTenant(rt, "acme");
  const admin = apiClient(rt, acme.apiKey);
  const agent = (await admin.post(`/api/v1/teams/${acme.teamId}/agents`, { name: "eng", role: "engineer" })).body;
  key = (await admin.post(`/api/v1/agents/${agent.id}/keys`)).body.key;
  url = await listenOnLoopback(rt);
});
afterAll(async () => {
  await rt?.stop();
});

withInspector("the MCP Inspector's CLI lists the tools over Streamable HTTP with the agent key", async () => {
  if ("unavailable" in inspector) return;
  const out = await runInspector(inspector, [url, "--transport", "http", "--method", "tools/list", "--header", `Authorization: Bearer ${key}`]);
  const listed = JSON.parse(out) as { tools: { name: string; inputSchema: { type: string } }[] };
  expect(listed.tools.map((t) => t.name)).toEqual(MCP_TOOL_NAMES);
  expect(listed.tools.every((t) => t.inputSchema.type === "object")).toBe(true);
  await expect(runInspector(inspector, [url, "--transport", "http", "--method", "tools/list", "--header", "Authorization: Bearer oc_not-a-key"])).rejects.toThrow();
}, 180_000);
