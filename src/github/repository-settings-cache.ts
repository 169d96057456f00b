/**
 * What each repository's settings file said, kept `ttlMs` per worker process: without it every
 * delivery costs two GitHub calls (the repository's file, then the owner's .github repository).
 * Errors are never kept; a missing file is. At most `maxEntries`, the oldest forgotten first.
 */
export class RepositorySettingsCache<T> {
  private readonly entries = new Map<string, { value: T | undefined; expires: number }>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 10_000) {}

  async get(key: string, read: () => Promise<T | undefined>, now = Date.now): Promise<T | undefined> {
    if (this.ttlMs === 0) return read();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now()) return hit.value;
    const value = await read();
    this.entries.delete(key);
    this.entries.set(key, { value, expires: now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}
