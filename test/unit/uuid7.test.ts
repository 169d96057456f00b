import { afterEach, describe, expect, it, jest } from "@jest/globals";
import { v7 as uuid7 } from "uuid";

// Task events and outbound deliveries take these ids so that rows written in one transaction keep their order.
describe("uuid7", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it("is a version-7 UUID whose order follows creation, also within one millisecond", () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const ids = Array.from({ length: 5000 }, () => uuid7());
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    jest.setSystemTime(1_700_000_000_500);
    expect(uuid7() > ids[ids.length - 1]!).toBe(true);
  });
});
