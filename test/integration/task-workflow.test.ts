import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";

let rt: TestRuntime;
let acme: Tenant;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "task_workflow" });
  acme = await createTenant(rt, "acme");
  api = apiClient(rt, acme.apiKey);
});
afterAll(async () => {
  await rt?.stop();
});

async function newTask(title = "work") {
  const res = await api.post(`/api/v1/teams/${acme.teamId}/tasks`, { title });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

describe("moving tasks", () => {
  it("refuses illegal moves with 409 listing the allowed ones, and records each legal move", async () => {
    const id = await newTask();
    const illegal = await api.post(`/api/v1/tasks/${id}/status`, { status: "done" });
    expect(illegal.status).toBe(409);
    expect(illegal.body.error).toEqual({ code: "illegal_transition", message: `task #${id} cannot move from todo to done; allowed: in_progress, cancelled` });
    expect((await api.post(`/api/v1/tasks/${id}/status`, { status: "in_progress" })).body.status).toBe("in_progress");
    // The same move again changes nothing.
    expect((await api.post(`/api/v1/tasks/${id}/status`, { status: "in_progress" })).status).toBe(200);
    expect((await api.post(`/api/v1/tasks/${id}/status`, { status: "bogus" })).status).toBe(400);
    const events = (await api.get(`/api/v1/tasks/${id}/events`)).body.data;
    expect(events.map((e: { type: string; from: string | null; to: string | null; actor_type: string }) => [e.type, e.from, e.to, e.actor_type])).toEqual([
      ["task.status_changed", "todo", "in_progress", "api_key"],
      ["task.created", null, "todo", "api_key"],
    ]);
  });

  it("two concurrent moves of one task: one wins, the other sees the new state", async () => {
    const id = await newTask();
    const results = await Promise.all([
      api.post(`/api/v1/tasks/${id}/status`, { status: "in_progress" }),
      api.post(`/api/v1/tasks/${id}/status`, { status: "cancelled" }),
      api.post(`/api/v1/tasks/${id}/status`, { status: "in_progress" }),
    ]);
    const final = (await api.get(`/api/v1/tasks/${id}`)).body.status;
    const moves = (await api.get(`/api/v1/tasks/${id}/events`)).body.data.filter((e: { type: string }) => e.type === "task.status_changed");
    // Every successful answer is a state the task really passed through, in a legal order.
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(["in_progress", "cancelled"]).toContain(final);
    expect(moves.length).toBeLessThanOrEqual(2);
  });

  it("needs every dependency done before in_progress, and refuses cycles", async () => {
    const a = await newTask("a");
    const b = await newTask("b");
    const c = await newTask("c");
    expect((await api.put(`/api/v1/tasks/${c}/dependencies`, { depends_on: [a, b] })).body).toEqual({ task_id: c, depends_on: [a, b] });
    const blocked = await api.post(`/api/v1/tasks/${c}/status`, { status: "in_progress" });
    expect(blocked.status).toBe(409);
    expect(blocked.body.error).toMatchObject({ code: "blocked_by_dependencies", message: `task #${c} is blocked by unfinished dependencies: #${a}, #${b}` });
    expect((await api.put(`/api/v1/tasks/${a}/dependencies`, { depends_on: [c] })).status).toBe(400);
    expect((await api.put(`/api/v1/tasks/${a}/dependencies`, { depends_on: [a] })).body.error.code).toBe("dependency_cycle");
    expect((await api.put(`/api/v1/tasks/${b}/dependencies`, { depends_on: [999_999] })).body.error.code).toBe("invalid_dependency");
    // Two edits at once that would close a cycle between them: one is refused.
    const x = await newTask("x");
    const y = await newTask("y");
    const pair = await Promise.all([api.put(`/api/v1/tasks/${x}/dependencies`, { depends_on: [y] }), api.put(`/api/v1/tasks/${y}/dependencies`, { depends_on: [x] })]);
    expect(pair.map((r) => r.status).sort()).toEqual([200, 400]);
  });

  it("an archived dependency counts as done only when it was done before it was archived", async () => {
    const cancelled = await newTask("cancelled then archived");
    const done = await newTask("done then archived");
    const waiting = await newTask("waiting");
    for (const status of ["cancelled", "archived"]) expect((await api.post(`/api/v1/tasks/${cancelled}/status`, { status })).status).toBe(200);
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done", "archived"]) expect((await api.post(`/api/v1/tasks/${done}/status`, { status })).status).toBe(200);
    expect((await api.put(`/api/v1/tasks/${waiting}/dependencies`, { depends_on: [cancelled, done] })).status).toBe(200);
    const blocked = await api.post(`/api/v1/tasks/${waiting}/status`, { status: "in_progress" });
    expect(blocked.body.error).toMatchObject({ code: "blocked_by_dependencies", message: `task #${waiting} is blocked by unfinished dependencies: #${cancelled}` });
  });
});

describe("sub-tasks", () => {
  it("creates one, or a batch with depends_on_indices, all or nothing", async () => {
    const parent = await newTask("parent");
    const one = await api.post(`/api/v1/tasks/${parent}/subtasks`, { title: "single", priority: "high" });
    expect(one.status).toBe(201);
    expect(one.body).toMatchObject({ parent_id: parent, priority: "high", depends_on: [] });
    const bad = await api.post(`/api/v1/tasks/${parent}/subtasks`, { tasks: [{ title: "x" }, { title: "y", depends_on_indices: [1] }] });
    expect(bad.status).toBe(400);
    const badAssignee = await api.post(`/api/v1/tasks/${parent}/subtasks`, { tasks: [{ title: "x" }, { title: "y", assignee_id: "00000000-0000-4000-8000-000000000000" }] });
    expect(badAssignee.body.error.code).toBe("invalid_assignee");
    const children = await api.get(`/api/v1/teams/${acme.teamId}/tasks?limit=200`);
    expect(children.body.data.filter((t: { parent_id: number }) => t.parent_id === parent)).toHaveLength(1);
    const other = apiClient(rt, (await createTenant(rt, "other")).apiKey);
    expect((await other.post(`/api/v1/tasks/${parent}/subtasks`, { title: "intruder" })).status).toBe(404);
  });

  it("closes the parent as the system when every sub-task is done or cancelled, at least one done", async () => {
    const parent = await newTask("parent");
    const batch = (await api.post(`/api/v1/tasks/${parent}/subtasks`, { tasks: [{ title: "s1" }, { title: "s2" }] })).body.data as { id: number }[];
    await api.post(`/api/v1/tasks/${batch[0]!.id}/status`, { status: "cancelled" });
    expect((await api.get(`/api/v1/tasks/${parent}`)).body.status).toBe("todo");
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) await api.post(`/api/v1/tasks/${batch[1]!.id}/status`, { status });
    const closed = (await api.get(`/api/v1/tasks/${parent}`)).body;
    expect(closed.status).toBe("done");
    const last = (await api.get(`/api/v1/tasks/${parent}/events`)).body.data[0];
    expect(last).toMatchObject({ from: "todo", to: "done", actor_type: "system", data: { system: true } });

    const allCancelled = await newTask("parent 2");
    const only = (await api.post(`/api/v1/tasks/${allCancelled}/subtasks`, { title: "s" })).body;
    await api.post(`/api/v1/tasks/${only.id}/status`, { status: "cancelled" });
    expect((await api.get(`/api/v1/tasks/${allCancelled}`)).body.status).toBe("todo");
  });

  it("does not close the parent when its only finished sub-tasks were cancelled, one of them archived since", async () => {
    const parent = await newTask("parent 3");
    const [archived, open] = (await api.post(`/api/v1/tasks/${parent}/subtasks`, { tasks: [{ title: "s1" }, { title: "s2" }] })).body.data as { id: number }[];
    for (const status of ["cancelled", "archived"]) await api.post(`/api/v1/tasks/${archived!.id}/status`, { status });
    expect((await api.post(`/api/v1/tasks/${open!.id}/status`, { status: "cancelled" })).status).toBe(200);
    expect((await api.get(`/api/v1/tasks/${parent}`)).body.status).toBe("todo");
  });
});
