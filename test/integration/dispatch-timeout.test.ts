import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg } from "../helpers/auto-assign.js";
import { issueOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "dispatch_timeout", env: { DISPATCH_ACK_TIMEOUT_MS: "2000", SWEEP_INTERVAL_MS: "200" } });
});
afterAll(async () => {
  await rt?.stop();
});

describe("dispatch", () => {
  it("frees an agent that does not acknowledge in time and dispatches the task to another", async () => {
    const org = await autoAssigningOrg(rt, [{ name: "sleepy", role: "engineer" }, { name: "wakeful", role: "manager" }]);
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, number: 300, installationId: org.installationId }));
    const task = (await org.api.get(`/api/v1/tasks/${d.task_id}`)).body;
    expect(task.assignee_id).toBe(org.agents.sleepy);
    const moved = await waitFor(async () => {
      const t = (await org.api.get(`/api/v1/tasks/${d.task_id}`)).body;
      return t.assignee_id === org.agents.wakeful && t.dispatched_at ? t : undefined;
    }, 30_000, "re-dispatch");
    expect(moved.status).toBe("todo");
    expect((await org.api.get(`/api/v1/agents/${org.agents.sleepy}`)).body.status).toBe("paused");
    const types = ((await org.api.get(`/api/v1/tasks/${d.task_id}/events?limit=200`)).body.data as { type: string }[]).map((e) => e.type).reverse();
    expect(types.slice(0, 5)).toEqual(["task.created", "task.assigned", "task.dispatched", "task.dispatch_expired", "task.assigned"]);
    // Acknowledged in time, the second agent keeps it.
    expect((await org.api.post(`/api/v1/tasks/${d.task_id}/acknowledge`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await org.api.get(`/api/v1/tasks/${d.task_id}`)).body.assignee_id).toBe(org.agents.wakeful);
  });

  it("re-dispatches a task a person assigned too, to an idle agent of the team", async () => {
    const org = await autoAssigningOrg(rt, [{ name: "sleepy", role: "engineer" }, { name: "wakeful", role: "manager" }], { auto_assign: false });
    const created = await org.api.post(`/api/v1/teams/${org.tenant.teamId}/tasks`, { title: "picked by hand", assignee_id: org.agents.sleepy });
    expect([created.status, created.body.auto_assign]).toEqual([201, false]);
    const moved = await waitFor(async () => {
      const t = (await org.api.get(`/api/v1/tasks/${created.body.id}`)).body;
      return t.assignee_id === org.agents.wakeful && t.dispatched_at ? t : undefined;
    }, 30_000, "re-dispatch");
    expect(moved).toMatchObject({ status: "todo", auto_assign: true });
    expect((await org.api.get(`/api/v1/agents/${org.agents.sleepy}`)).body.status).toBe("paused");
    const expired = ((await org.api.get(`/api/v1/tasks/${created.body.id}/events`)).body.data as { type: string; data: Record<string, unknown> }[]).find((e) => e.type === "task.dispatch_expired");
    expect(expired?.data).toMatchObject({ agent_id: org.agents.sleepy, auto_assign: { from: false, to: true } });
  });

  it("with no idle agent, a task a person assigned waits in todo and goes to the next agent that is free", async () => {
    const org = await autoAssigningOrg(rt, [{ name: "alone", role: "engineer" }], { auto_assign: false });
    const created = await org.api.post(`/api/v1/teams/${org.tenant.teamId}/tasks`, { title: "picked by hand", assignee_id: org.agents.alone });
    await waitFor(async () => (await org.api.get(`/api/v1/agents/${org.agents.alone}`)).body.status === "paused", 30_000, "the silent agent paused");
    expect((await org.api.get(`/api/v1/tasks/${created.body.id}`)).body).toMatchObject({ status: "todo", assignee_id: null });
    const late = (await org.api.post(`/api/v1/teams/${org.tenant.teamId}/agents`, { name: "late", role: "engineer" })).body;
    const taken = await waitFor(async () => {
      const t = (await org.api.get(`/api/v1/tasks/${created.body.id}`)).body;
      return t.assignee_id === late.id ? t : undefined;
    }, 30_000, "assigned to the new agent");
    expect(taken.status).toBe("todo");
  });
});
