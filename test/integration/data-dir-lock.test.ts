import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { acquireDataDirLock, LOCK_LEASE_MS } from "../../src/db/data-dir-lock.js";

const LOCK_MODULE = path.resolve("dist/db/data-dir-lock.js");
const STARTERS = 6;

// One starter: reports "ready", tries the lock when told to on stdin, reports the outcome and holds what it got until stdin ends.
const STARTER = `
const { acquireDataDirLock } = await import(process.argv[1]);
const lines = process.stdin.setEncoding("utf8");
process.stdout.write("ready\\n");
await new Promise((resolve) => lines.once("data", resolve));
let release;
try {
  release = acquireDataDirLock(process.argv[2]);
  process.stdout.write("locked\\n");
} catch (error) {
  process.stdout.write(error.name === "DataDirLockedError" ? "busy " + error.message + "\\n" : "error " + error.message + "\\n");
}
lines.on("end", () => release?.());
lines.resume();
`;

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "entourage-lock-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The lines a starter has written, waited for by count. */
function linesOf(child: ChildProcess): (count: number) => Promise<string[]> {
  const lines: string[] = [];
  let rest = "";
  let wake = () => {};
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`a starter exited (${code}) after: ${lines.join(" | ")}`))));
  exited.catch(() => {});
  return async (count) => {
    while (lines.length < count) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), exited]);
    return lines.slice(0, count);
  };
}

/** Starts STARTERS processes, lets them all try the lock of `dataDir` at once, and returns what each got. */
async function raceFor(dataDir: string): Promise<string[]> {
  const children = Array.from({ length: STARTERS }, () =>
    spawn(process.execPath, ["--input-type=module", "-e", STARTER, LOCK_MODULE, dataDir], { stdio: ["pipe", "pipe", "inherit"] }));
  const exits = children.map((child) => new Promise((resolve) => child.once("exit", resolve)));
  try {
    const output = children.map(linesOf);
    await Promise.all(output.map((lines) => lines(1)));
    for (const child of children) child.stdin.write("go\n");
    return (await Promise.all(output.map((lines) => lines(2)))).map((lines) => lines[1]!);
  } finally {
    for (const child of children) child.stdin.end();
    await Promise.all(exits);
  }
}

function lockedBy(dataDir: string, owner: unknown, ageMs: number): void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "lock");
  writeFileSync(file, JSON.stringify(owner));
  const at = new Date(Date.now() - ageMs);
  utimesSync(file, at, at);
}

const expectOneHolder = (outcomes: string[]) => {
  expect(outcomes.filter((o) => o === "locked")).toHaveLength(1);
  expect(outcomes.filter((o) => o.startsWith("busy "))).toHaveLength(STARTERS - 1);
};

describe("starters of one DATA_DIR at the same moment", () => {
  it("leave exactly one holding a fresh data folder", async () => {
    expectOneHolder(await raceFor(path.join(root, "fresh")));
  });

  it("leave exactly one holding the lock of a process of this host that is gone", async () => {
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const dataDir = path.join(root, "crashed");
    lockedBy(dataDir, { pid: Number(gone.stdout), host: hostname() }, 0);
    expectOneHolder(await raceFor(dataDir));
  });

  it("leave exactly one holding the lock of another container whose lease ran out, where process ids repeat", async () => {
    const dataDir = path.join(root, "lapsed");
    lockedBy(dataDir, { pid: 1, host: "another-container" }, 2 * LOCK_LEASE_MS);
    expectOneHolder(await raceFor(dataDir));
  });

  it("leave it to another container while its lease runs, and say which DATA_DIR is in use", async () => {
    const dataDir = path.join(root, "leased");
    lockedBy(dataDir, { pid: 1, host: "another-container" }, 1000);
    const outcomes = await raceFor(dataDir);
    expect(outcomes).toEqual(Array(STARTERS).fill(`busy the embedded database in DATA_DIR ${dataDir} is in use by process 1 on another-container ` +
      "(a running server?); stop it first, or run this command against DATABASE_URL"));
  });
});

describe("a holder of the DATA_DIR lock", () => {
  it("keeps its lease fresh, so that another container does not take it", async () => {
    const dataDir = path.join(root, "held");
    const release = acquireDataDirLock(dataDir);
    try {
      const file = path.join(dataDir, "lock");
      const old = new Date(Date.now() - 2 * LOCK_LEASE_MS);
      utimesSync(file, old, old);
      await sleep(LOCK_LEASE_MS / 3 + 1000);
      expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(LOCK_LEASE_MS / 3 + 1000);
    } finally {
      release();
    }
  });
});
