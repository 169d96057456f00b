import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { sql } from "../../../src/db/sql.js";
import { createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../app-runtime.js";
import { example, issueOpened } from "../github-events.js";
import { apiClient, deliverToApp } from "../http.js";
import { AgentClient, listenOnLoopback } from "../mcp-client.js";
import { waitFor } from "../wait.js";

export const MCP_TOOL_NAMES = [
  "get_inbox", "get_task", "list_tasks", "list_team_agents", "acknowledge_task", "change_task_status", "report_progress", "create_subtasks", "ask_human",
];

const INSTALLATION = 31337;

/**
 * The guide's last section, with the engineer working only through MCP on its own agent key:
 * get_inbox shows the dispatched task → acknowledge_task → create_subtasks (the third depending on the
 * first two) → each sub-task moved to done → the parent closes → the resolution comment on the issue.
 */
export function describeGuideRunOverMcp(options: { label: string; services: boolean }): void {
  let rt: TestRuntime;
  let acme: Tenant;

  beforeAll(async () => {
    rt = await startTestRuntime({ label: options.label, services: options.services });
    acme = await createTenant(rt, "acme", "acme-corp");
  }, 120_000);
  afterAll(async () => {
    await rt?.stop();
  });

  describe(`an agent does its whole job over MCP (${options.services ? "PostgreSQL and Redis" : "embedded default"})`, () => {
    it("issue → dispatched task in the inbox → acknowledged → three sub-tasks → all done → parent closed → comment on the issue", async () => {
      const admin = apiClient(rt, acme.apiKey);
      await admin.post(`/api/v1/teams/${acme.teamId}/agents`, { name: "pm", role: "manager" });
      const engineer = (await admin.post(`/api/v1/teams/${acme.teamId}/agents`, { name: "eng-frontend", role: "engineer" })).body;
      const installed = example("installation", "created");
      installed.installation.id = INSTALLATION;
      installed.installation.account.login = "acme-corp";
      installed.installation.repository_selection = "all";
      installed.sender.type = "User";
      expect((await deliverToApp(rt, "installation", installed)).status).toBe("processed");
      await sql(rt.database.dataSource, `UPDATE webhooks SET config = '{"auto_assign": true, "close_issue": true}' WHERE provider = 'github_app' AND org_id = $1`, [acme.orgId]);
      const opened = await deliverToApp(rt, "issues", issueOpened({
        owner: "acme-corp", repo: "web", number: 7, title: "Add dark mode support", body: "Users want a dark theme.", labels: ["enhancement"], installationId: INSTALLATION,
      }));
      const parentId = opened.task_id!;
      await waitFor(async () => (await admin.get(`/api/v1/tasks/${parentId}`)).body.dispatched_at !== null, 30_000, "dispatch");
      const key = await admin.post(`/api/v1/agents/${engineer.id}/keys`);
      expect(key.status).toBe(201);
      await admin.post(`/api/v1/agents/${engineer.id}/messages`, { task_id: parentId, body: "Keep the toggle in the settings page.", sender: "octocat" });

      const agent = await AgentClient.connect(await listenOnLoopback(rt), key.body.key);
      try {
        expect((await agent.listTools()).map((t) => t.name)).toEqual(MCP_TOOL_NAMES);

        const inbox = await agent.call("get_inbox");
        expect(inbox.isError).toBe(false);
        expect(inbox.data.agent).toMatchObject({ id: engineer.id, name: "eng-frontend", status: "working" });
        expect(inbox.data.tasks.map((t: { id: number }) => t.id)).toEqual([parentId]);
        expect(inbox.data.tasks[0].dispatched_at).toEqual(expect.any(String));
        expect(inbox.data.messages).toEqual([expect.objectContaining({ task_id: parentId, sender_type: "person", sender: "octocat", body: "Keep the toggle in the settings page." })]);
        expect(inbox.text).toContain(`#${parentId} [todo] medium: [GitHub] Add dark mode support (dispatched)`);
        expect((await agent.call("get_inbox")).data.messages).toEqual([]);

        const acknowledged = await agent.call("acknowledge_task", { task_id: parentId });
        expect(acknowledged.data.acknowledged_at).toEqual(expect.any(String));
        expect((await agent.call("acknowledge_task", { task_id: parentId })).data.acknowledged_at).toBe(acknowledged.data.acknowledged_at);

        const detail = await agent.call("get_task", { task_id: parentId });
        expect(detail.data.github).toEqual({
          repository: "acme-corp/web", number: 7, kind: "issue", url: "https://github.com/acme-corp/web/issues/7",
          title: "Add dark mode support", body: "Users want a dark theme.", labels: ["enhancement"],
        });
        expect(detail.data.events[0]).toMatchObject({ type: "task.acknowledged", actor_type: "agent", actor_id: engineer.id });

        expect((await agent.call("list_team_agents")).data.data).toEqual(expect.arrayContaining([
          { id: engineer.id, name: "eng-frontend", role: "engineer", status: "working" }, expect.objectContaining({ name: "pm", role: "manager" }),
        ]));

        const batch = await agent.call("create_subtasks", {
          task_id: parentId,
          tasks: [
            { title: "Add theme context provider", assignee: "eng-frontend" },
            { title: "Create dark color palette", assignee: engineer.id },
            { title: "Add toggle to settings page", assignee: "eng-frontend", depends_on: [0, 1] },
          ],
        });
        expect(batch.isError).toBe(false);
        const [provider, palette, toggle] = batch.data.data as { id: number; parent_id: number; depends_on: number[]; assignee_id: string }[];
        expect(toggle!.depends_on).toEqual([provider!.id, palette!.id]);
        expect(batch.data.data.every((t: { parent_id: number; assignee_id: string }) => t.parent_id === parentId && t.assignee_id === engineer.id)).toBe(true);
        expect((await agent.call("list_tasks", { assignee: "eng-frontend", status: "todo" })).data.data.map((t: { id: number }) => t.id))
          .toEqual(expect.arrayContaining([provider!.id, palette!.id, toggle!.id]));

        const blocked = await agent.call("change_task_status", { task_id: toggle!.id, status: "in_progress" });
        expect(blocked).toMatchObject({ isError: true, text: `task #${toggle!.id} is blocked by unfinished dependencies: #${provider!.id}, #${palette!.id}; move those to done first, or work on another task` });

        for (const sub of [provider!, palette!, toggle!]) {
          for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) {
            const moved = await agent.call("change_task_status", { task_id: sub.id, status, ...(status === "done" ? { note: "merged" } : {}) });
            expect([sub.id, status, moved.isError, moved.data.status]).toEqual([sub.id, status, false, status]);
            if (status === "in_progress") expect((await agent.call("report_progress", { task_id: sub.id, message: "tests written, implementing" })).isError).toBe(false);
          }
        }
        const late = await agent.call("report_progress", { task_id: parentId, message: "all done" });
        expect(late).toMatchObject({ isError: true, text: `task #${parentId} is done; progress is reported on open tasks only` });

        const closed = await agent.call("get_task", { task_id: parentId });
        expect(closed.data.status).toBe("done");
        expect(closed.data.subtasks.map((s: { status: string }) => s.status)).toEqual(["done", "done", "done"]);
        expect(closed.data.events[0]).toMatchObject({ type: "task.status_changed", to: "done", actor_type: "system" });
        const subEvents = (await agent.call("get_task", { task_id: toggle!.id })).data.events as { type: string; to: string; actor_type: string; data: { note?: string } }[];
        expect(subEvents.find((e) => e.to === "done")).toMatchObject({ actor_type: "agent", data: { note: "merged" } });

        const resolved = await waitFor(async () => rt.github.commentsOn("acme-corp/web", 7).find((c) => c.body.startsWith("Resolved")), 30_000, "resolution comment");
        expect(resolved.body.split("\n")[0]).toBe(`Resolved in tasks #${provider!.id}-#${toggle!.id}`);
        expect((await agent.call("get_inbox")).data.tasks).toEqual([]);

        if (process.env.MCP_TRANSCRIPT) {
          const comments = rt.github.commentsOn("acme-corp/web", 7).map((c) => `comment on acme-corp/web#7:\n${c.body}`);
          writeFileSync(process.env.MCP_TRANSCRIPT, [...agent.transcript, ...comments].join("\n\n"));
        }
      } finally {
        await agent.close();
      }
    });
  });
}
