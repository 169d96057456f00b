import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";

/** A holder that has not refreshed its lock for this long is gone (a crash, another container's). */
export const LOCK_LEASE_MS = 15_000;
const REFRESH_MS = LOCK_LEASE_MS / 3;

interface Holder {
  pid: number;
  host: string | undefined;
  ino: number;
  mtimeMs: number;
}

export class DataDirLockedError extends Error {
  constructor(dataDir: string, holder: Pick<Holder, "pid" | "host">) {
    const who = Number.isInteger(holder.pid) ? `process ${holder.pid}` : "another process";
    const where = holder.host && holder.host !== hostname() ? ` on ${holder.host}` : "";
    super(
      `the embedded database in DATA_DIR ${dataDir} is in use by ${who}${where} (a running server?); ` +
        "stop it first, or run this command against DATABASE_URL",
    );
    this.name = "DataDirLockedError";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Lock files this process holds, so that it does not open the same database twice either. */
const held = new Set<string>();

/** Opens `file` with `flags`; undefined when the open fails with `expected` (the file exists, or is gone). */
function openUnless(file: string, flags: string, expected: string): number | undefined {
  try {
    return openSync(file, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === expected) return undefined;
    throw error;
  }
}

/** Creates `file` naming this process, unless it exists; returns its inode, which tells this lock from a later one. */
function tryCreate(file: string): number | undefined {
  const fd = openUnless(file, "wx", "EEXIST");
  if (fd === undefined) return undefined;
  try {
    writeFileSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
    return fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

// Empty while its holder is between creating and writing it; a bare process id from an older release.
function parseOwner(text: string): { pid?: unknown; host?: unknown } {
  try {
    const owner: unknown = JSON.parse(text);
    return typeof owner === "number" ? { pid: owner } : (owner as { pid?: unknown; host?: unknown }) ?? {};
  } catch {
    return {};
  }
}

/** Who holds `file`, read through one descriptor so that the content and the times are of one file; undefined once it is gone. */
function readHolder(file: string): Holder | undefined {
  const fd = openUnless(file, "r", "ENOENT");
  if (fd === undefined) return undefined;
  try {
    const { ino, mtimeMs } = fstatSync(fd);
    const owner = parseOwner(readFileSync(fd, "utf8"));
    return { pid: Number(owner.pid), host: typeof owner.host === "string" ? owner.host : undefined, ino, mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * A process of this host that is gone has left its lock at once; one elsewhere (another container,
 * where process ids repeat) once its lease runs out.
 */
function isAbandoned(holder: Holder): boolean {
  if (holder.host === hostname() && Number.isInteger(holder.pid) && holder.pid !== process.pid && !isAlive(holder.pid)) return true;
  return Date.now() - holder.mtimeMs > LOCK_LEASE_MS;
}

/**
 * Removes an abandoned lock. Starters that found it abandoned at the same moment take turns through
 * the `.takeover` file, and each looks again before it removes: so none of them removes a lock that
 * another has just made.
 */
function removeAbandoned(dataDir: string, file: string, judged: Holder): void {
  const takeover = `${file}.takeover`;
  if (tryCreate(takeover) === undefined) {
    const other = readHolder(takeover);
    if (other && !isAbandoned(other)) throw new DataDirLockedError(dataDir, other);
    if (other) rmSync(takeover, { force: true });
    return;
  }
  try {
    const now = readHolder(file);
    if (now && now.ino === judged.ino && now.mtimeMs === judged.mtimeMs) rmSync(file, { force: true });
  } finally {
    rmSync(takeover, { force: true });
  }
}

/** Keeps the lease fresh; a lock that is no longer this process's own stops the process, as two on one database corrupt it. */
function keepFresh(dataDir: string, file: string, ino: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    const now = readHolder(file);
    if (now?.ino !== ino) {
      clearInterval(timer);
      throw new Error(`the lock on DATA_DIR ${dataDir} was taken by another process while this one held it`);
    }
    const at = new Date();
    utimesSync(file, at, at);
  }, REFRESH_MS);
  timer.unref();
  return timer;
}

/** The embedded database belongs to one process at a time; returns the release function. */
export function acquireDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.resolve(dataDir, "lock");
  if (held.has(file)) throw new DataDirLockedError(dataDir, { pid: process.pid, host: hostname() });
  for (let tries = 0; tries < 5; tries++) {
    const ino = tryCreate(file);
    if (ino !== undefined) {
      held.add(file);
      const timer = keepFresh(dataDir, file, ino);
      return () => {
        clearInterval(timer);
        held.delete(file);
        if (readHolder(file)?.ino === ino) rmSync(file, { force: true });
      };
    }
    const holder = readHolder(file);
    if (!holder) continue;
    if (!isAbandoned(holder)) throw new DataDirLockedError(dataDir, holder);
    removeAbandoned(dataDir, file, holder);
  }
  throw new Error(`cannot take the lock ${file}`);
}
