import { describe, expect, it } from "@jest/globals";
import { RepositorySettingsCache } from "../../src/github/repository-settings-cache.js";

describe("RepositorySettingsCache", () => {
  it("reuses a repository's settings, a missing file included, until they are ttl old", async () => {
    let now = 1000;
    const clock = () => now;
    const cache = new RepositorySettingsCache<{ team: string }>(60_000);
    const reads: string[] = [];
    const read = (key: string, value: { team: string } | undefined) => () => {
      reads.push(key);
      return Promise.resolve(value);
    };
    expect(await cache.get("1 acme/web", read("acme/web", { team: "core" }), clock)).toEqual({ team: "core" });
    expect(await cache.get("1 acme/api", read("acme/api", undefined), clock)).toBeUndefined();
    now += 59_999;
    expect(await cache.get("1 acme/web", read("acme/web", { team: "other" }), clock)).toEqual({ team: "core" });
    expect(await cache.get("1 acme/api", read("acme/api", { team: "late" }), clock)).toBeUndefined();
    expect(reads).toEqual(["acme/web", "acme/api"]);
    now += 1;
    expect(await cache.get("1 acme/web", read("acme/web", { team: "other" }), clock)).toEqual({ team: "other" });
    expect(reads).toEqual(["acme/web", "acme/api", "acme/web"]);
  });

  it("keeps no error, reads every time with ttl 0, and forgets the oldest past its size", async () => {
    const cache = new RepositorySettingsCache<number>(60_000, 2);
    await expect(cache.get("a", () => Promise.reject(new Error("GitHub answered 502")))).rejects.toThrow("502");
    expect(await cache.get("a", () => Promise.resolve(1))).toBe(1);
    await cache.get("b", () => Promise.resolve(2));
    await cache.get("c", () => Promise.resolve(3));
    expect(await cache.get("a", () => Promise.resolve(10))).toBe(10);
    expect(await cache.get("c", () => Promise.resolve(30))).toBe(3);
    const uncached = new RepositorySettingsCache<number>(0);
    let reads = 0;
    for (let i = 0; i < 3; i++) await uncached.get("a", () => Promise.resolve(++reads));
    expect(reads).toBe(3);
  });
});
