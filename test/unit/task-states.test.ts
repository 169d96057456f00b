import { describe, expect, it } from "@jest/globals";
import { TASK_STATUSES } from "../../src/db/entities/task.js";
import { canMove, pathBetween } from "../../src/domain/task-states.js";

describe("the task state machine", () => {
  const legal: [string, string][] = [
    ["todo", "in_progress"], ["todo", "cancelled"],
    ["in_progress", "in_review"], ["in_progress", "todo"], ["in_progress", "cancelled"],
    ["in_review", "in_approval"], ["in_review", "in_progress"], ["in_review", "cancelled"],
    ["in_approval", "merging"], ["in_approval", "in_progress"], ["in_approval", "cancelled"],
    ["merging", "done"], ["merging", "in_progress"],
    ["done", "archived"], ["cancelled", "archived"],
  ];
  it("allows exactly the original's moves", () => {
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        const expected = legal.some(([f, t]) => f === from && t === to);
        expect([from, to, canMove(from, to)]).toEqual([from, to, expected]);
      }
    }
  });
  it("finds the shortest legal path", () => {
    expect(pathBetween("todo", "done")).toEqual(["todo", "in_progress", "in_review", "in_approval", "merging", "done"]);
    expect(pathBetween("archived", "todo")).toBeNull();
  });
});
