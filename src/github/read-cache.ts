import { LRUCache } from "lru-cache";

/** A clock in milliseconds, for tests that move time by hand. */
export interface Clock {
  now(): number;
}

/**
 * What GitHub answered to a read, kept `ttlMs` per worker process: a repository's settings file (without
 * it every delivery costs two GitHub calls: the repository's file, then the owner's .github repository),
 * a commenter's permission on a repository.
 * Reads of one key that overlap share one GitHub request, also with `ttlMs` 0 (then nothing is
 * reused once it has been answered). Errors are never kept; a missing file is. At most
 * `maxEntries`, the least recently used forgotten first.
 */
export class GitHubReadCache<T> {
  // Boxed, because the cache takes an undefined value as "nothing to keep" and a missing file is kept.
  private readonly entries: LRUCache<string, { value: T | undefined }, () => Promise<T | undefined>>;

  constructor(private readonly ttlMs: number, maxEntries = 10_000, clock?: Clock) {
    this.entries = new LRUCache({
      max: maxEntries,
      ttl: ttlMs,
      ttlResolution: 0,
      perf: clock,
      // A read pushed out of a full cache still answers the deliveries that wait for it.
      ignoreFetchAbort: true,
      fetchMethod: async (_key, _stale, { context: read }) => ({ value: await read() }),
    });
  }

  async get(key: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const entry = await this.entries.fetch(key, { context: read, forceRefresh: this.ttlMs === 0 });
    return entry!.value;
  }
}
