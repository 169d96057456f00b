import { describe, expect, it } from "@jest/globals";
import { formatTable } from "../../src/cli/table.js";

describe("formatTable", () => {
  it("pads each column to its widest cell, two spaces apart, the last column unpadded", () => {
    expect(formatTable(["TASK", "TITLE", "TAGS"], [
      ["#1", "[GitHub] Login broken on Safari", "github, issue"],
      ["#12", "short", ""],
    ])).toBe([
      "TASK  TITLE                            TAGS",
      "#1    [GitHub] Login broken on Safari  github, issue",
      "#12   short",
    ].join("\n"));
  });

  it("prints the header alone when there are no rows", () => {
    expect(formatTable(["EVENT", "STATUS"], [])).toBe("EVENT  STATUS");
  });
});
