import { EventEmitter } from "node:events";
import type { PGlite, Results } from "@electric-sql/pglite";

/**
 * A node-postgres-shaped pool over one PGlite instance for TypeORM's postgres driver.
 * PGlite has a single session, so a connection is exclusive from `connect` to its release:
 * transactions never interleave, and statements run one at a time.
 */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

interface PgResult {
  rows: unknown[];
  rowCount: number;
  command: string;
}

function commandOf(text: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*)*(\w+)/.exec(text);
  return match ? match[1]!.toUpperCase() : "";
}

function toPgResult(text: string, result: Results | undefined): PgResult {
  const rows = result?.rows ?? [];
  return { rows, rowCount: result?.affectedRows ?? rows.length, command: commandOf(text) };
}

class PGliteConnection extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  async query(text: string, params?: unknown[]): Promise<PgResult> {
    if (params && params.length > 0) return toPgResult(text, await this.db.query(text, params));
    const results = await this.db.exec(text);
    return toPgResult(text, results[results.length - 1]);
  }
}

export function pglitePoolDriver(db: PGlite): { Pool: new () => EventEmitter } {
  const mutex = new Mutex();
  class PGlitePool extends EventEmitter {
    connect(callback: (err: Error | null, connection: PGliteConnection | null, release: () => void) => void): void {
      mutex.acquire().then((unlock) => {
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          unlock();
        };
        callback(null, new PGliteConnection(db), release);
      }, (error: Error) => callback(error, null, () => undefined));
    }

    end(callback?: (err: Error | null) => void): void {
      db.close().then(() => callback?.(null), (error: Error) => callback?.(error));
    }
  }
  return { Pool: PGlitePool };
}
