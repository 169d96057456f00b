import { describe, expect, it } from "@jest/globals";
import { uuid7 } from "../../src/db/uuid7.js";

describe("uuid7", () => {
  it("is a version-7 UUID whose order follows creation, also within one millisecond", () => {
    const ids = Array.from({ length: 5000 }, () => uuid7(1_700_000_000_000));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuid7(1_700_000_000_500) > ids[ids.length - 1]!).toBe(true);
  });
});
