import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { example, issueOpened } from "../helpers/github-events.js";
import { apiClient, deliverToApp } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
const INSTALLATION = 31337;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "full_run" });
  acme = await createTenant(rt, "acme", "acme-corp");
});
afterAll(async () => {
  await rt?.stop();
});

describe("the guide's full GitHub → Entourage run", () => {
  it("issue → task → assigned agent → sub-tasks → all done → parent closes → comment on the issue", async () => {
    const api = apiClient(rt, acme.apiKey);
    const pm = await api.post(`/api/v1/teams/${acme.teamId}/agents`, { name: "pm", role: "manager" });
    const engineer = await api.post(`/api/v1/teams/${acme.teamId}/agents`, { name: "eng-frontend", role: "engineer" });
    expect([pm.status, engineer.status]).toEqual([201, 201]);

    // The App is installed on the organization's account; its webhook row gets the settings.
    const installed = example("installation", "created");
    installed.installation.id = INSTALLATION;
    installed.installation.account.login = "acme-corp";
    installed.installation.repository_selection = "all";
    installed.sender.type = "User";
    const install = await deliverToApp(rt, "installation", installed);
    expect(install.status).toBe("processed");
    await sql(rt.database.dataSource, `UPDATE webhooks SET config = '{"auto_assign": true, "close_issue": true}' WHERE provider = 'github_app' AND org_id = $1`, [acme.orgId]);

    // 1-3. A developer opens an issue; GitHub sends it; Entourage creates the task.
    const opened = await deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", repo: "web", number: 7, title: "Add dark mode support", labels: ["enhancement"], installationId: INSTALLATION }));
    expect(opened.status).toBe("processed");
    const parentId = opened.task_id!;
    const parent = (await api.get(`/api/v1/tasks/${parentId}`)).body;
    expect(parent).toMatchObject({ title: "[GitHub] Add dark mode support", status: "todo", assignee_id: engineer.body.id });

    // Dispatch: the engineer is working, the task has dispatched_at, the event is recorded.
    await waitFor(async () => (await api.get(`/api/v1/tasks/${parentId}`)).body.dispatched_at !== null, 30_000, "dispatch");
    expect((await api.get(`/api/v1/agents/${engineer.body.id}`)).body.status).toBe("working");
    const tracked = await waitFor(async () => rt.github.commentsOn("acme-corp/web", 7)[0], 30_000, "tracked comment");
    expect(tracked.body.split("\n")[0]).toBe(`Tracked as Entourage task #${parentId} · priority medium · assigned to eng-frontend`);

    // 4. The manager decomposes it into sub-tasks; the toggle depends on the other two.
    const batch = await api.post(`/api/v1/tasks/${parentId}/subtasks`, {
      tasks: [
        { title: "Add theme context provider", assignee_id: engineer.body.id },
        { title: "Create dark color palette", assignee_id: engineer.body.id },
        { title: "Add toggle to settings page", assignee_id: engineer.body.id, depends_on_indices: [0, 1] },
      ],
    });
    expect(batch.status).toBe(201);
    const [provider, palette, toggle] = batch.body.data as { id: number; parent_id: number; depends_on: number[] }[];
    expect(toggle!.depends_on).toEqual([provider!.id, palette!.id]);
    expect(batch.body.data.every((t: { parent_id: number }) => t.parent_id === parentId)).toBe(true);

    // The toggle cannot start before its dependencies are done.
    const blocked = await api.post(`/api/v1/tasks/${toggle!.id}/status`, { status: "in_progress" });
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.message).toContain(`#${provider!.id}, #${palette!.id}`);

    // 5-7. Each sub-task goes through review and merges.
    for (const sub of [provider!, palette!, toggle!]) {
      for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) {
        const moved = await api.post(`/api/v1/tasks/${sub.id}/status`, { status });
        expect([sub.id, status, moved.status]).toEqual([sub.id, status, 200]);
      }
    }

    // The parent closed by itself, as the system.
    const closed = (await api.get(`/api/v1/tasks/${parentId}`)).body;
    expect(closed.status).toBe("done");
    expect(closed.completed_at).not.toBeNull();
    const events = (await api.get(`/api/v1/tasks/${parentId}/events`)).body.data as { type: string; to: string; actor_type: string }[];
    expect(events[0]).toMatchObject({ type: "task.status_changed", to: "done", actor_type: "system" });

    // 8. Entourage updates the GitHub issue, once.
    const resolved = await waitFor(async () => rt.github.commentsOn("acme-corp/web", 7).find((c) => c.body.startsWith("Resolved")), 30_000, "resolution comment");
    expect(resolved.body.split("\n")[0]).toBe(`Resolved in tasks #${provider!.id}-#${toggle!.id}`);
    await waitFor(async () => rt.github.issueUpdates.length > 0, 30_000, "issue closed");
    expect(rt.github.issueUpdates[0]).toMatchObject({ repository: "acme-corp/web", issue_number: 7, body: { state: "closed" } });
    expect(rt.github.commentsOn("acme-corp/web", 7)).toHaveLength(2);
    // The engineer is free again.
    await waitFor(async () => (await api.get(`/api/v1/agents/${engineer.body.id}`)).body.status === "idle", 30_000, "engineer idle");
  });
});
