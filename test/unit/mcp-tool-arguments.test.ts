import { describe, expect, it } from "@jest/globals";
import type { Task } from "../../src/db/entities/task.js";
import { inboxOrder } from "../../src/domain/inbox.js";
import { githubItemOf } from "../../src/domain/task-detail.js";
import { splitDependencies } from "../../src/mcp/tools/work-tools.js";

describe("splitDependencies", () => {
  it.each([
    ["earlier items by index", 2, [0, 1], { depends_on: [], depends_on_indices: [0, 1] }],
    ["task ids as \"#n\" or plain strings", 2, ["#601", "7"], { depends_on: [601, 7], depends_on_indices: [] }],
    ["an integer at least the item's position is a task id", 1, [0, 1, 601], { depends_on: [1, 601], depends_on_indices: [0] }],
    ["nothing", 0, [], { depends_on: [], depends_on_indices: [] }],
  ])("%s", (_name, position, items, expected) => {
    expect(splitDependencies(position, items)).toEqual(expected);
  });
});

describe("githubItemOf", () => {
  const source = { provider: "github_app" as const, repository: "acme/web", number: 7, kind: "issue" as const, url: "https://github.com/acme/web/issues/7", installation_id: 1 };
  it.each([
    ["an issue with a body", { title: "[GitHub] Dark mode", description: "GitHub Issue #7\n\nUsers want it.\n\nhttps://github.com/acme/web/issues/7", tags: ["github", "issue", "ui"], source: { ...source, label_tags: ["ui"] } },
      { ...source, title: "Dark mode", body: "Users want it.", labels: ["ui"] }],
    ["an issue without a body, labels from its tags", { title: "[GitHub] Dark mode", description: "GitHub Issue #7\n\nhttps://github.com/acme/web/issues/7", tags: ["github", "issue", "ui"], source },
      { ...source, title: "Dark mode", body: "", labels: ["ui"] }],
    ["a pull request", { title: "[GitHub PR] Fix", description: "GitHub PR #7\n\nFixes #6\n\nhttps://github.com/acme/web/issues/7", tags: [], source: { ...source, kind: "pull_request" as const } },
      { ...source, kind: "pull_request", title: "Fix", body: "Fixes #6", labels: [] }],
  ])("%s", (_name, task, expected) => {
    const { installation_id: _installation, provider: _provider, ...view } = { ...expected, installation_id: 0, provider: "" };
    expect(githubItemOf(task)).toEqual(view);
  });
  it("is null for a task not from GitHub", () => {
    expect(githubItemOf({ title: "t", description: "", tags: [], source: null })).toBeNull();
  });
});

describe("inboxOrder", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const task = (id: number, priority: Task["priority"], dispatched: boolean, created: number) =>
    ({ id, priority, dispatched_at: dispatched ? at(0) : null, created_at: at(created) }) as Task;
  it("puts dispatched tasks first, then the most urgent, then the oldest", () => {
    const tasks = [task(1, "low", false, 1), task(2, "critical", false, 2), task(3, "low", true, 3), task(4, "high", true, 4), task(5, "critical", false, 1)];
    expect(tasks.sort(inboxOrder).map((t) => t.id)).toEqual([4, 3, 5, 2, 1]);
  });
});
