import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { autoAssigningOrg } from "../helpers/auto-assign.js";
import { issueOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "auto_assign", env: { SWEEP_INTERVAL_MS: "200" } });
});
afterAll(async () => {
  await rt?.stop();
});

async function assignees(teamId: string) {
  return (await sql<{ id: number; assignee_id: string | null; status: string }>(rt.database.dataSource, "SELECT id, assignee_id, status FROM tasks WHERE team_id = $1 ORDER BY id", [teamId])).rows;
}

describe("auto-assign", () => {
  it("picks an engineer first, then the agent idle the longest, ties by name", async () => {
    const org = await autoAssigningOrg(rt, [
      { name: "zed-reviewer", role: "reviewer" }, { name: "bob", role: "engineer" }, { name: "amy", role: "engineer" },
    ]);
    const db = rt.database.dataSource;
    await sql(db, "UPDATE agents SET idle_since = '2026-01-01T00:00:00Z' WHERE team_id = $1", [org.tenant.teamId]);
    await sql(db, "UPDATE agents SET idle_since = '2025-01-01T00:00:00Z' WHERE id = $1", [org.agents["zed-reviewer"]]);
    const owner = org.owner;
    const order: string[] = [];
    for (let n = 10; n < 13; n++) {
      const d = await deliverToApp(rt, "issues", issueOpened({ owner, number: n, installationId: org.installationId }));
      const task = (await org.api.get(`/api/v1/tasks/${d.task_id}`)).body;
      order.push(Object.entries(org.agents).find(([, id]) => id === task.assignee_id)?.[0] ?? "none");
    }
    // Engineers before the reviewer who waited longer; amy before bob on a tie.
    expect(order).toEqual(["amy", "bob", "zed-reviewer"]);
  });

  it("between two engineers, the one idle the longest wins even when its name sorts later", async () => {
    const org = await autoAssigningOrg(rt, [{ name: "amy", role: "engineer" }, { name: "bob", role: "engineer" }]);
    const db = rt.database.dataSource;
    await sql(db, "UPDATE agents SET idle_since = '2026-01-01T00:00:00Z' WHERE id = $1", [org.agents.amy]);
    await sql(db, "UPDATE agents SET idle_since = '2025-06-01T00:00:00Z' WHERE id = $1", [org.agents.bob]);
    const d = await deliverToApp(rt, "issues", issueOpened({ owner: org.owner, number: 20, installationId: org.installationId }));
    expect((await org.api.get(`/api/v1/tasks/${d.task_id}`)).body.assignee_id).toBe(org.agents.bob);
  });

  it("hands out waiting tasks the most urgent first, then the oldest", async () => {
    const org = await autoAssigningOrg(rt, [{ name: "amy", role: "engineer" }]);
    const owner = org.owner;
    const first = await deliverToApp(rt, "issues", issueOpened({ owner, number: 30, installationId: org.installationId }));
    const waiting: Record<number, string> = {};
    for (const [number, label] of [[31, "low"], [32, "bug"], [33, "critical"], [34, "high"], [35, "P0"]] as const) {
      waiting[(await deliverToApp(rt, "issues", issueOpened({ owner, number, labels: [label], installationId: org.installationId }))).task_id!] = label;
    }
    const order: string[] = [];
    let current = first.task_id!;
    while (order.length < 5) {
      for (const status of ["in_progress", "cancelled"]) expect((await org.api.post(`/api/v1/tasks/${current}/status`, { status })).status).toBe(200);
      await waitFor(async () => (await assignees(org.tenant.teamId)).some((t) => t.assignee_id && t.status === "todo"), 30_000, "the next assignment");
      current = (await assignees(org.tenant.teamId)).find((t) => t.assignee_id && t.status === "todo")!.id;
      order.push(waiting[current]!);
    }
    expect(order).toEqual(["critical", "P0", "high", "bug", "low"]);
  });

  it("50 tasks and 5 idle agents at once: 5 distinct assignments, 45 waiting, none lost", async () => {
    const org = await autoAssigningOrg(rt, ["a", "b", "c", "d", "e"].map((name) => ({ name: `eng-${name}`, role: "engineer" })));
    const owner = org.owner;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => deliverToApp(rt, "issues", issueOpened({ owner, number: 100 + i, installationId: org.installationId }))));
    expect(results.every((r) => r.status === "processed")).toBe(true);
    await waitFor(async () => (await assignees(org.tenant.teamId)).filter((t) => t.assignee_id).length === 5, 30_000, "5 assignments");
    let tasks = await assignees(org.tenant.teamId);
    expect(tasks).toHaveLength(50);
    const assigned = tasks.filter((t) => t.assignee_id);
    expect(new Set(assigned.map((t) => t.assignee_id)).size).toBe(5);
    expect(tasks.filter((t) => !t.assignee_id && t.status === "todo")).toHaveLength(45);

    // Agents finishing their tasks take the waiting ones, until every task has been worked on.
    const done = new Set<number>();
    while (done.size < 50) {
      tasks = await assignees(org.tenant.teamId);
      const current = tasks.filter((t) => t.assignee_id && !done.has(t.id));
      expect(new Set(current.map((t) => t.assignee_id)).size).toBe(current.length);
      await Promise.all(current.map(async (t) => {
        for (const status of ["in_progress", "cancelled"]) expect((await org.api.post(`/api/v1/tasks/${t.id}/status`, { status })).status).toBe(200);
        done.add(t.id);
      }));
      if (done.size < 50) {
        await waitFor(async () => (await assignees(org.tenant.teamId)).some((t) => t.assignee_id && !done.has(t.id)), 30_000, "next assignments");
      }
    }
    tasks = await assignees(org.tenant.teamId);
    expect(tasks.every((t) => t.status === "cancelled" && t.assignee_id)).toBe(true);
  }, 120_000);
});
