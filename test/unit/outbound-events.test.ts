import { describe, expect, it } from "@jest/globals";
import { normalizeOutboundEvents, notificationBody, notificationsFor, wantsEvent, type TaskChange } from "../../src/domain/outbound-events.js";

describe("notificationsFor", () => {
  const cases: [string, TaskChange, unknown[]][] = [
    ["a created task", { type: "task.created", to: "todo", data: { title: "t" } }, [{ event: "task.created", data: { status: "todo", title: "t" } }]],
    ["an assignment", { type: "task.assigned", data: { agent_id: "a", agent_name: "eng" } }, [{ event: "task.assigned", data: { agent_id: "a", agent_name: "eng" } }]],
    ["a dispatch", { type: "task.dispatched", data: { agent_id: "a", round: 2 } }, [{ event: "task.dispatched", data: { agent_id: "a", round: 2 } }]],
    ["a progress report", { type: "task.progress", data: { message: "tests pass" } }, [{ event: "task.progress", data: { message: "tests pass" } }]],
    ["a move", { type: "task.status_changed", from: "todo", to: "in_progress", data: {} }, [
      { event: "task.status_changed", data: { from: "todo", to: "in_progress" } },
    ]],
    ["a move to done", { type: "task.status_changed", from: "merging", to: "done", data: { system: true } }, [
      { event: "task.status_changed", data: { from: "merging", to: "done", system: true } },
      { event: "task.completed", data: { from: "merging", to: "done" } },
    ]],
    ["a move to cancelled", { type: "task.status_changed", from: "todo", to: "cancelled" }, [
      { event: "task.status_changed", data: { from: "todo", to: "cancelled" } },
      { event: "task.cancelled", data: { from: "todo", to: "cancelled" } },
    ]],
    ["a move out of done", { type: "task.status_changed", from: "done", to: "archived" }, [
      { event: "task.status_changed", data: { from: "done", to: "archived" } },
    ]],
    ["an edit", { type: "task.updated", data: { changes: {} } }, []],
    ["an unassignment", { type: "task.unassigned" }, []],
    ["an acknowledgement", { type: "task.acknowledged" }, []],
    ["an expired dispatch", { type: "task.dispatch_expired" }, []],
    ["a run's end", { type: "task.run_finished", data: { run_id: "r", outcome: "failed" } }, [{ event: "task.run_finished", data: { run_id: "r", outcome: "failed" } }]],
    ["a pull request", { type: "task.pull_request_opened", data: { number: 5 } }, [{ event: "task.pull_request_opened", data: { number: 5 } }]],
    ["spent runs", { type: "task.needs_human", data: { failed_runs: 3 } }, [{ event: "task.needs_human", data: { failed_runs: 3 } }]],
    ["a run's start", { type: "task.run_started" }, []],
    ["a retry", { type: "task.retried" }, []],
  ];
  it.each(cases)("%s", (_name, change, expected) => {
    expect(notificationsFor(change)).toEqual(expected);
  });
});

describe("normalizeOutboundEvents", () => {
  it.each([
    [["task.completed"], ["task.completed"]],
    [["Task.Completed", " task.created ", "task.completed"], ["task.completed", "task.created"]],
    [["delivery.failed", "*"], ["*"]],
  ])("%j → %j", (input, expected) => {
    expect(normalizeOutboundEvents(input)).toEqual(expected);
  });

  it.each([[["issues.opened"]], [["task.updated"]], [["task.*"]], [[]]])("refuses %j with invalid_events", (input) => {
    expect(() => normalizeOutboundEvents(input)).toThrow(expect.objectContaining({ code: "invalid_events" }));
  });
});

describe("wantsEvent", () => {
  it.each([
    [["*"], "delivery.failed", true],
    [["task.completed"], "task.completed", true],
    [["task.completed"], "task.status_changed", false],
    [["task.created", "task.cancelled"], "task.cancelled", true],
  ] as const)("%j wants %s: %s", (events, event, expected) => {
    expect(wantsEvent(events, event)).toBe(expected);
  });
});

describe("notificationBody", () => {
  it("keeps the guide's key order: event, task_id, team_id, timestamp, data", () => {
    const body = notificationBody({
      event: "task.completed", taskId: 601, teamId: "team-uuid", timestamp: new Date("2026-02-27T14:30:00Z"), data: { from: "merging", to: "done" },
    });
    expect(body).toBe('{"event":"task.completed","task_id":601,"team_id":"team-uuid","timestamp":"2026-02-27T14:30:00.000Z","data":{"from":"merging","to":"done"}}');
  });
});
