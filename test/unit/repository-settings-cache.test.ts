import { describe, expect, it } from "@jest/globals";
import { GitHubReadCache } from "../../src/github/read-cache.js";

describe("GitHubReadCache", () => {
  it("reuses a repository's settings, a missing file included, until they are older than ttl", async () => {
    let now = 1000;
    const cache = new GitHubReadCache<{ team: string }>(60_000, 10_000, { now: () => now });
    const reads: string[] = [];
    const read = (key: string, value: { team: string } | undefined) => () => {
      reads.push(key);
      return Promise.resolve(value);
    };
    expect(await cache.get("1 acme/web", read("acme/web", { team: "core" }))).toEqual({ team: "core" });
    expect(await cache.get("1 acme/api", read("acme/api", undefined))).toBeUndefined();
    now += 59_999;
    expect(await cache.get("1 acme/web", read("acme/web", { team: "other" }))).toEqual({ team: "core" });
    expect(await cache.get("1 acme/api", read("acme/api", { team: "late" }))).toBeUndefined();
    now += 1;
    expect(await cache.get("1 acme/web", read("acme/web", { team: "other" }))).toEqual({ team: "core" });
    expect(reads).toEqual(["acme/web", "acme/api"]);
    now += 1;
    expect(await cache.get("1 acme/web", read("acme/web", { team: "other" }))).toEqual({ team: "other" });
    expect(reads).toEqual(["acme/web", "acme/api", "acme/web"]);
  });

  it("keeps no error, reads every time with ttl 0, and forgets the oldest past its size", async () => {
    const cache = new GitHubReadCache<number>(60_000, 2);
    await expect(cache.get("a", () => Promise.reject(new Error("GitHub answered 502")))).rejects.toThrow("502");
    expect(await cache.get("a", () => Promise.resolve(1))).toBe(1);
    await cache.get("b", () => Promise.resolve(2));
    await cache.get("c", () => Promise.resolve(3));
    expect(await cache.get("a", () => Promise.resolve(10))).toBe(10);
    expect(await cache.get("c", () => Promise.resolve(30))).toBe(3);
    const uncached = new GitHubReadCache<number>(0);
    let reads = 0;
    for (let i = 0; i < 3; i++) await uncached.get("a", () => Promise.resolve(++reads));
    expect(reads).toBe(3);
  });

  it("makes one read for reads of one key that overlap, with any ttl, and reads again once answered when ttl is 0", async () => {
    for (const ttl of [60_000, 0]) {
      const cache = new GitHubReadCache<number>(ttl);
      let reads = 0;
      let answer!: (value: number) => void;
      const read = () => {
        reads += 1;
        return new Promise<number>((resolve) => (answer = resolve));
      };
      const pending = Array.from({ length: 5 }, () => cache.get("1 acme/web", read));
      expect(reads).toBe(1);
      answer(7);
      expect(await Promise.all(pending)).toEqual([7, 7, 7, 7, 7]);
      expect(await cache.get("1 acme/web", () => Promise.resolve(8))).toBe(ttl === 0 ? 8 : 7);
    }
  });
});
