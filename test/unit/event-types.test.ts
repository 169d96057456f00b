import { describe, expect, it } from "@jest/globals";
import { ValidationError } from "../../src/domain/errors.js";
import { eventType, normalizeEvents, subscribes } from "../../src/domain/event-types.js";

describe("eventType", () => {
  it("joins event and action", () => {
    expect(eventType("issues", { action: "opened" })).toBe("issues.opened");
    expect(eventType("push", {})).toBe("push");
  });
  it("names a merged pull request's close pull_request.merged", () => {
    expect(eventType("pull_request", { action: "closed", pull_request: { merged: true } })).toBe("pull_request.merged");
    expect(eventType("pull_request", { action: "closed", pull_request: { merged: false } })).toBe("pull_request.closed");
  });
});

describe("normalizeEvents", () => {
  it("lower-cases, de-duplicates and sorts", () => {
    expect(normalizeEvents(["pull_request", "Issues.Opened", "issues.opened"])).toEqual(["issues.opened", "pull_request"]);
  });
  it("lets a bare event absorb its actions, and * everything", () => {
    expect(normalizeEvents(["issues.opened", "issues"])).toEqual(["issues"]);
    expect(normalizeEvents(["issues", "*"])).toEqual(["*"]);
  });
  it("refuses unknown names, listing the valid ones", () => {
    expect(() => normalizeEvents(["issues.exploded"])).toThrow(ValidationError);
    expect(() => normalizeEvents(["issues.exploded"])).toThrow(/valid events: \*, issues, issues\.opened/);
    expect(() => normalizeEvents([])).toThrow(ValidationError);
  });
});

describe("subscribes", () => {
  it.each([
    [["issues"], "issues.opened", true],
    [["issues.opened"], "issues.opened", true],
    [["issues.opened"], "issues.closed", false],
    [["pull_request"], "issues.opened", false],
    [["*"], "push", true],
    [["pull_request.merged"], "pull_request.merged", true],
    [["pull_request.closed"], "pull_request.merged", true],
    [["pull_request.merged"], "pull_request.closed", false],
  ])("%j receives %s: %s", (events, type, expected) => {
    expect(subscribes(events, type)).toBe(expected);
  });
});
