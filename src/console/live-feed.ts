import type { DataSource } from "typeorm";
import { recentChanges, type ChangeKind } from "../domain/recent-changes.js";
import type { Logger } from "../log.js";

/** A page open in a browser, told when what it shows changed. */
interface Watcher {
  orgId: string;
  seen: Record<ChangeKind, number>;
  send(kind: ChangeKind): void;
}

/** Changes committed late carry their transaction's start time: look back this far for them. */
const LOOK_BACK_MS = 2_000;
const MAX_LOOK_BACK_MS = 60_000;

/**
 * Tells open pages of each organization that its deliveries or tasks changed. It reads the database,
 * so it sees what every web and worker process did; it polls only while a page is open.
 */
export class LiveFeed {
  private readonly watchers = new Set<Watcher>();
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly db: DataSource, private readonly log: Logger, private readonly intervalMs = 1_000) {}

  /** Calls `send` for each change after `since` (ms); returns the unsubscribe function. */
  watch(orgId: string, since: number, send: (kind: ChangeKind) => void): () => void {
    const watcher: Watcher = { orgId, seen: { deliveries: since, tasks: since }, send };
    this.watchers.add(watcher);
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.watchers.size === 0) return;
    this.polling = true;
    try {
      const watchers = [...this.watchers];
      const oldest = Math.min(...watchers.flatMap((w) => [w.seen.deliveries, w.seen.tasks]));
      const since = new Date(Math.max(oldest - LOOK_BACK_MS, Date.now() - MAX_LOOK_BACK_MS));
      const changes = await recentChanges(this.db, [...new Set(watchers.map((w) => w.orgId))], since);
      for (const change of changes) {
        const at = change.at.getTime();
        for (const watcher of watchers) {
          if (watcher.orgId !== change.org_id || at <= watcher.seen[change.kind]) continue;
          watcher.seen[change.kind] = at;
          watcher.send(change.kind);
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, "the console's live feed could not read the latest changes");
    } finally {
      this.polling = false;
    }
  }
}
