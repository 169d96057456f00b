import { describe, expect, it } from "@jest/globals";
import { priorityFromLabels } from "../../src/domain/priorities.js";

describe("priorityFromLabels", () => {
  it.each([
    [["critical"], "critical"], [["urgent"], "critical"], [["P0"], "critical"],
    [["high"], "high"], [["important"], "high"], [["P1"], "high"],
    [["low"], "low"], [["minor"], "low"], [["P3"], "low"],
    [["P2"], "medium"], [["bug", "auth"], "medium"], [[], "medium"],
    [["CRITICAL"], "critical"], [["Urgent"], "critical"], [["p0"], "critical"], [["  High "], "high"],
  ])("%j → %s", (labels, expected) => {
    expect(priorityFromLabels(labels)).toBe(expected);
  });

  it("takes the highest match, not the first", () => {
    expect(priorityFromLabels(["low", "critical"])).toBe("critical");
    expect(priorityFromLabels(["minor", "P1", "low"])).toBe("high");
    expect(priorityFromLabels(["bug", "low", "important"])).toBe("high");
  });

  it("lets overrides add and replace label names", () => {
    expect(priorityFromLabels(["sev1"], { sev1: "critical" })).toBe("critical");
    expect(priorityFromLabels(["urgent"], { URGENT: "low" })).toBe("low");
  });
});
