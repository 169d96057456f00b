import { describe, expect, it } from "@jest/globals";
import { commentMarker, formatTaskIds, resolvedComment, trackedComment } from "../../src/domain/comment-text.js";

describe("formatTaskIds", () => {
  it.each([
    [[601, 602, 603], "#601-#603"],
    [[601], "#601"],
    [[601, 603, 605], "#601, #603, #605"],
    [[605, 601, 602, 603, 607, 608], "#601-#603, #605, #607-#608"],
    [[602, 601, 601], "#601-#602"],
  ])("%j → %s", (ids, text) => {
    expect(formatTaskIds(ids)).toBe(text);
  });
});

describe("the status comment", () => {
  const base = { id: 12, priority: "high", status: "todo", assignee: null };
  it.each([
    ["waiting", base, "waiting for an agent"],
    ["assigned", { ...base, assignee: "coder" }, "assigned, about to start"],
    ["at work", { ...base, assignee: "coder", status: "in_progress", running: true }, "agent at work"],
    ["asking", { ...base, assignee: "coder", status: "in_progress", waiting_for_human: true }, "waiting for your answer to the agent's question"],
    ["in review", { ...base, assignee: "coder", status: "in_review", pull_request: { number: 5, url: "https://github.com/o/r/pull/5" } }, "pull request #5 opened, in review"],
    ["stuck", { ...base, needs_human: true, failed_runs: 3 }, "the agent could not finish (3 failed runs): waiting for a person"],
    ["done", { ...base, status: "done", pull_request: { number: 5, url: "u" } }, "resolved"],
    ["cancelled", { ...base, status: "cancelled" }, "cancelled"],
  ])("%s", (_name, view, state) => {
    expect(trackedComment(view).split("\n")[2]).toBe(`**Status:** ${state}`);
  });

  it("links the pull request and ticks the sub-tasks done", () => {
    const body = trackedComment({
      ...base, assignee: "coder", status: "in_review", pull_request: { number: 5, url: "https://github.com/o/r/pull/5" },
      subtasks: [{ id: 13, title: "Parse dates", status: "done" }, { id: 14, title: "Add a test", status: "in_progress" }],
    });
    expect(body).toBe([
      "Tracked as Entourage task #12 · priority high · assigned to coder", "", "**Status:** pull request #5 opened, in review",
      "**Pull request:** [#5](https://github.com/o/r/pull/5)", "**Sub-tasks:**", "- [x] #13 Parse dates (done)", "- [ ] #14 Add a test (in progress)",
      "", "<!-- entourage:task-12:tracked -->",
    ].join("\n"));
  });
});

describe("comment bodies", () => {
  it("reads like the guide and carries a marker", () => {
    expect(trackedComment({ id: 601, priority: "critical", status: "todo", assignee: "eng-frontend" }).split("\n")[0]).toBe("Tracked as Entourage task #601 · priority critical · assigned to eng-frontend");
    expect(trackedComment({ id: 601, priority: "low", status: "todo", assignee: null }).split("\n")[0]).toBe("Tracked as Entourage task #601 · priority low · waiting for an agent");
    expect(resolvedComment(600, [601, 602, 603]).split("\n")[0]).toBe("Resolved in tasks #601-#603");
    expect(resolvedComment(600, [])).toContain("Resolved in task #600");
    expect(resolvedComment(600, [601])).toContain(commentMarker(600, "resolved"));
  });
});
