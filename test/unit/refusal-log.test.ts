import { describe, expect, it } from "@jest/globals";
import { LineBudget } from "../../src/http/refusal-log.js";

function budget(lines = 2, windowMs = 10_000) {
  const clock = { now: 0 };
  return { clock, budget: new LineBudget<string>({ lines, windowMs, now: () => clock.now }) };
}

describe("LineBudget", () => {
  it("writes the first lines of a window for each key, and counts the rest", () => {
    const { budget: b } = budget(2);
    expect([1, 2, 3, 4].map(() => b.take("POST /hook 401", "hook").write)).toEqual([true, true, false, false]);
    expect(b.take("GET /api 401", "api").write).toBe(true);
    expect(b.hasLeftOut()).toBe(true);
    expect(b.drain()).toEqual([]);
  });

  it("reports a window's count once it has ended, and starts a new one", () => {
    const { clock, budget: b } = budget(1);
    b.take("k", "k");
    b.take("k", "k");
    b.take("k", "k");
    clock.now = 9_999;
    expect(b.drain()).toEqual([]);
    clock.now = 10_000;
    expect(b.drain()).toEqual([{ detail: "k", leftOut: 2 }]);
    expect(b.hasLeftOut()).toBe(false);
    expect(b.take("k", "k")).toEqual({ write: true });
  });

  it("hands a ended window's count to the next line of its key when that comes before the report", () => {
    const { clock, budget: b } = budget(1);
    b.take("k", "k");
    b.take("k", "k");
    clock.now = 12_000;
    expect(b.take("k", "k")).toEqual({ write: true, leftOut: { detail: "k", leftOut: 1 } });
    expect(b.drain()).toEqual([]);
  });

  it("forgets ended windows without lines left out, and drains every window on close", () => {
    const { clock, budget: b } = budget(1);
    b.take("quiet", "quiet");
    b.take("loud", "loud");
    b.take("loud", "loud");
    expect(b.drain(true)).toEqual([{ detail: "loud", leftOut: 1 }]);
    clock.now = 1;
    expect(b.take("loud", "loud")).toEqual({ write: true });
  });
});
