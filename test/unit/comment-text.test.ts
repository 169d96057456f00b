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

describe("comment bodies", () => {
  it("reads like the guide and carries a marker", () => {
    expect(trackedComment({ id: 601, priority: "critical" }, "eng-frontend").split("\n")[0]).toBe("Tracked as Entourage task #601 · priority critical · assigned to eng-frontend");
    expect(trackedComment({ id: 601, priority: "low" }, null).split("\n")[0]).toBe("Tracked as Entourage task #601 · priority low · waiting for an agent");
    expect(resolvedComment(600, [601, 602, 603]).split("\n")[0]).toBe("Resolved in tasks #601-#603");
    expect(resolvedComment(600, [])).toContain("Resolved in task #600");
    expect(resolvedComment(600, [601])).toContain(commentMarker(600, "resolved"));
  });
});
