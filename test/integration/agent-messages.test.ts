import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sendAgentMessage, takeUnreadMessages } from "../../src/domain/agent-messages.js";
import { ensureTeam } from "../../src/domain/organizations.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";

let rt: TestRuntime;
let acme: Tenant;
let agentId: string;
let taskId: number;
let otherTeamTaskId: number;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "agent_messages" });
  acme = await createTenant(rt, "acme");
  const api = apiClient(rt, acme.apiKey);
  agentId = (await api.post(`/api/v1/teams/${acme.teamId}/agents`, { name: "eng", role: "engineer" })).body.id;
  taskId = (await api.post(`/api/v1/teams/${acme.teamId}/tasks`, { title: "Fix the login" })).body.id;
  const other = await ensureTeam(rt.database.dataSource, { orgId: acme.orgId, slug: "other" });
  otherTeamTaskId = (await api.post(`/api/v1/teams/${other.id}/tasks`, { title: "Elsewhere" })).body.id;
});
afterAll(async () => {
  await rt?.stop();
});

describe("messages to an agent", () => {
  it("wait unread until the inbox hands them over, oldest first, once", async () => {
    const db = rt.database.dataSource;
    const first = await sendAgentMessage(db, { orgId: acme.orgId, agentId, taskId, from: { type: "review", name: "octocat" }, body: "Please add a test" });
    await sendAgentMessage(db, { orgId: acme.orgId, agentId, taskId, from: { type: "system" }, body: "The CI failed" });
    expect(first).toMatchObject({ agent_id: agentId, task_id: taskId, sender_type: "review", sender: "octocat", read_at: null });
    const taken = await takeUnreadMessages(db, acme.orgId, agentId);
    expect(taken.map((m) => [m.body, m.sender_type, m.read_at !== null])).toEqual([["Please add a test", "review", true], ["The CI failed", "system", true]]);
    expect(await takeUnreadMessages(db, acme.orgId, agentId)).toEqual([]);
  });

  it("are each handed over once when two inbox calls race", async () => {
    const db = rt.database.dataSource;
    for (let i = 0; i < 20; i++) await sendAgentMessage(db, { orgId: acme.orgId, agentId, taskId, from: { type: "system" }, body: `note ${i}` });
    const [a, b] = await Promise.all([takeUnreadMessages(db, acme.orgId, agentId), takeUnreadMessages(db, acme.orgId, agentId)]);
    const bodies = [...a!, ...b!].map((m) => m.body).sort();
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `note ${i}`).sort());
  });

  it("are about a task of the agent's team only", async () => {
    await expect(sendAgentMessage(rt.database.dataSource, { orgId: acme.orgId, agentId, taskId: otherTeamTaskId, from: { type: "system" }, body: "x" }))
      .rejects.toMatchObject({ code: "invalid_message" });
  });

  it("can be left by a person through POST /api/v1/agents/:id/messages (admin only)", async () => {
    const api = apiClient(rt, acme.apiKey);
    const res = await api.post(`/api/v1/agents/${agentId}/messages`, { task_id: taskId, body: "Use the new palette", sender: "alice" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ agent_id: agentId, task_id: taskId, sender_type: "person", sender: "alice", body: "Use the new palette", read_at: null });
    expect((await api.post(`/api/v1/agents/${agentId}/messages`, { task_id: otherTeamTaskId, body: "x" })).status).toBe(400);
    const agentKey = (await api.post(`/api/v1/agents/${agentId}/keys`)).body.key as string;
    expect((await apiClient(rt, agentKey).post(`/api/v1/agents/${agentId}/messages`, { task_id: taskId, body: "x" })).status).toBe(403);
    expect((await takeUnreadMessages(rt.database.dataSource, acme.orgId, agentId)).map((m) => m.body)).toEqual(["Use the new palette"]);
  });
});
