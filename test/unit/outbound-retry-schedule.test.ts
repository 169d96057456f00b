import { describe, expect, it } from "@jest/globals";
import { OUTBOUND_MAX_ATTEMPTS, OUTBOUND_MAX_WAIT_MS, retryDelayMs } from "../../src/domain/outbound-retry-schedule.js";

describe("retryDelayMs", () => {
  it("waits the first delay after the first failure, then about 4.3 times longer each time, 8 attempts in all", () => {
    const middle = Array.from({ length: OUTBOUND_MAX_ATTEMPTS }, (_, i) => retryDelayMs(i + 1, 10_000, 0.5));
    expect(middle).toEqual([10_000, 43_000, 184_900, 795_070, 3_418_801, 14_700_844, 63_213_630, undefined]);
  });

  it("spreads each wait by up to a quarter either way", () => {
    expect(retryDelayMs(1, 10_000, 0)).toBe(7_500);
    expect(retryDelayMs(1, 10_000, 0.999_999)).toBe(12_500);
    expect(retryDelayMs(3, 10_000, 0)).toBe(138_675);
  });

  it("puts the last attempt about a day after the first with the default first delay", () => {
    const total = (random: number) =>
      Array.from({ length: OUTBOUND_MAX_ATTEMPTS - 1 }, (_, i) => retryDelayMs(i + 1, 10_000, random)!).reduce((a, b) => a + b, 0);
    const hours = (ms: number) => ms / 3_600_000;
    expect(hours(total(0.5))).toBeGreaterThan(22);
    expect(hours(total(0.5))).toBeLessThan(24);
    expect(hours(total(0))).toBeGreaterThan(17);
    expect(hours(total(0.999_999))).toBeLessThan(30);
  });

  it("never waits less than a millisecond, and gives no delay after the last attempt", () => {
    expect(retryDelayMs(1, 1, 0)).toBe(1);
    expect(retryDelayMs(OUTBOUND_MAX_ATTEMPTS, 10_000, 0.5)).toBeUndefined();
    expect(retryDelayMs(OUTBOUND_MAX_ATTEMPTS + 3, 10_000, 0.5)).toBeUndefined();
  });

  it("never waits more than a day, however long the first delay", () => {
    expect(retryDelayMs(7, 3_600_000, 0.999_999)).toBe(OUTBOUND_MAX_WAIT_MS);
    expect(retryDelayMs(1, 10 * OUTBOUND_MAX_WAIT_MS, 0)).toBe(OUTBOUND_MAX_WAIT_MS);
  });
});
