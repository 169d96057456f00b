import type { EntityManager } from "typeorm";
import pg from "pg";

/**
 * Writes whose result no one reads, held back within one transaction and sent in the same round trip as a later
 * statement (one simple-query message holding several statements): the first one that could see them or be changed
 * by them (see mustCarry), or at the latest the flush before the commit. A round trip costs far more here than the
 * statement it carries, and a statement far more than a row: a batch of deliveries that writes an event and an
 * outbox row per delivery sends them as one INSERT of many rows per table (see heldStatements). Callers that run
 * at the same time in one transaction (the issues of a batch) share round trips too (see shareRoundTrips).
 * Only node-postgres connections take part: on PGlite a deferred write runs at once.
 */
interface RawClient {
  query(text: string): Promise<pg.QueryResult | pg.QueryResult[]>;
  query(query: pg.Query): unknown;
}

/** A held write: its statement and parameters. */
export interface HeldWrite {
  text: string;
  params: readonly unknown[];
}

const pending = new WeakMap<EntityManager, HeldWrite[]>();

/** Starts holding back deferred writes made through `manager` (a transaction's manager on node-postgres). */
export function deferWritesOf(manager: EntityManager): boolean {
  if (!rawClient(manager)) return false;
  pending.set(manager, []);
  return true;
}

/** The node-postgres client under a transaction's manager, when it has one. */
function rawClient(manager: EntityManager): RawClient | undefined {
  const connection = (manager.queryRunner as { databaseConnection?: unknown } | undefined)?.databaseConnection;
  return connection instanceof pg.Client ? connection : undefined;
}

/** The writes held back for `manager`, if it defers them. */
export function deferredWrites(manager: EntityManager): HeldWrite[] | undefined {
  return pending.get(manager);
}

/** Holds `text` back when `manager` defers writes; false when the caller must run it itself. */
export function holdBack(manager: EntityManager, text: string, params: readonly unknown[]): boolean {
  const writes = pending.get(manager);
  if (!writes) return false;
  writes.push({ text, params });
  return true;
}

/** What a held statement is: the table a plain INSERT adds to, and for an INSERT of one row, its text up to the row and the row. */
interface Shape {
  table?: string;
  head?: string;
  row?: string;
}

const INSERT_INTO = /^\s*INSERT\s+INTO\s+([\w."]+)/i;
/** `INSERT INTO … VALUES (…)` with nothing after the row. */
const SINGLE_ROW_INSERT = /^(\s*INSERT\s+INTO\s[^']*?\sVALUES\s*)(\([\s\S]*\))\s*$/i;
const shapes = new Map<string, Shape>();

/** The shape of a held statement, read once (held statements are the few constants of the code that writes them). */
function shapeOf(text: string): Shape {
  let shape = shapes.get(text);
  if (!shape) {
    const single = SINGLE_ROW_INSERT.exec(text);
    shape = single && closesAtEnd(single[2]!)
      ? { table: INSERT_INTO.exec(text)![1], head: single[1], row: single[2] }
      : { table: INSERT_INTO.exec(text)?.[1] };
    shapes.set(text, shape);
  }
  return shape;
}

/** Whether the parenthesis that opens `row` is closed by its last character, quotes skipped: `row` is one tuple. */
function closesAtEnd(row: string): boolean {
  let depth = 0;
  const outsideQuotes = row.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''");
  for (let i = 0; i < outsideQuotes.length; i++) {
    if (outsideQuotes[i] === "(") depth += 1;
    else if (outsideQuotes[i] === ")" && --depth === 0) return i === outsideQuotes.length - 1;
  }
  return false;
}

/** A statement that reads, or adds rows, and nothing else. */
const READS_OR_ADDS = /^\s*(SELECT|INSERT)\b/i;

/**
 * Whether `text` must carry the held writes: yes unless they are all INSERTs and `text` only reads or adds rows
 * without naming a table they add to. Such a statement cannot see the held rows, and no held row can change
 * what it does (held rows reference rows that exist, and no trigger reads the tables held rows go to), so the
 * held writes wait for a later statement and go in fewer, larger INSERTs (see heldStatements).
 */
function mustCarry(writes: readonly HeldWrite[], text: string): boolean {
  if (writes.length === 0) return false;
  if (!READS_OR_ADDS.test(text)) return true;
  return writes.some((held) => {
    const { table } = shapeOf(held.text);
    return table === undefined || text.includes(table);
  });
}

/** Sends statements as one simple-query message and returns the result of the last. */
async function send(manager: EntityManager, statements: readonly string[]): Promise<pg.QueryResult> {
  const shared = sharing.get(manager);
  if (shared) return shared.send(statements);
  const results = await rawClient(manager)!.query(statements.join(";\n"));
  return Array.isArray(results) ? results[results.length - 1]! : results;
}

/** Statements of one caller that wait for the next shared message, and where their last statement's result goes. */
interface Waiting {
  statements: readonly string[];
  resolve(result: pg.QueryResult): void;
  reject(error: unknown): void;
}

/** The error of a caller's statements that were not run, or whose work was undone, because another caller's statement failed. */
export class AbortedByOtherError extends Error {
  /** PostgreSQL's code for a statement sent after another failed in the same transaction. */
  readonly code = "25P02";

  constructor(cause: unknown) {
    super(`not run: a statement sent with it failed (${(cause as Error).message})`, { cause });
    this.name = "AbortedByOtherError";
  }
}

/** A simple query that counts the statements the server completed, so that a failed one is known by its place. */
class CountedQuery extends pg.Query {
  completed = 0;

  handleCommandComplete(...args: unknown[]): void {
    this.completed += 1;
    (pg.Query.prototype as unknown as { handleCommandComplete(...a: unknown[]): void }).handleCommandComplete.apply(this, args);
  }
}

/** Where a failed shared message's error carries how many of its statements completed. */
const COMPLETED = Symbol("statements completed before the error");

/** Sends `text` (one or several statements) as one simple query; on failure, the error comes with how many statements completed. */
function queryCounted(client: RawClient, text: string): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    const query: CountedQuery = new CountedQuery(text, undefined, (error: Error | undefined, answer: unknown) => {
      if (error) reject(Object.assign(error, { [COMPLETED]: query.completed }));
      else resolve((Array.isArray(answer) ? answer : [answer]) as pg.QueryResult[]);
    });
    client.query(query);
  });
}

/**
 * The round trips of one transaction shared by callers that run at the same time: the statements they ask for
 * while the event loop runs their code go as one simple-query message once it turns (setImmediate), each caller's
 * statements together and in the order asked. The server runs them one after the other, as it would have had
 * each been sent alone. When one fails, the server runs none after it and the transaction is aborted: its caller
 * gets the error, and every other caller in the message an AbortedByOtherError.
 */
class SharedRoundTrips {
  private waiting: Waiting[] = [];
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly client: RawClient) {}

  send(statements: readonly string[]): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ statements, resolve, reject }) === 1) setImmediate(() => void this.sendWaiting());
    });
  }

  /** Runs `work` once the callers that took a turn before it are done with theirs. */
  inTurn<T>(work: () => Promise<T>): Promise<T> {
    const mine = this.turn.then(work);
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async sendWaiting(): Promise<void> {
    const taken = this.waiting.splice(0);
    try {
      const results = await queryCounted(this.client, taken.flatMap((w) => w.statements).join(";\n"));
      let last = -1;
      for (const w of taken) w.resolve(results[(last += w.statements.length)]!);
    } catch (error) {
      const failed = (error as { [COMPLETED]?: number })[COMPLETED] ?? 0;
      let end = 0;
      for (const w of taken) {
        const start = end;
        end += w.statements.length;
        w.reject(failed >= start && failed < end ? error : new AbortedByOtherError(error));
      }
    }
  }
}

const sharing = new WeakMap<EntityManager, SharedRoundTrips>();

/**
 * Runs `work`, whose callers run at the same time in the transaction of `manager`, with their statements sharing
 * round trips (see SharedRoundTrips); on a manager that does not defer writes they go as they would alone.
 */
export async function shareRoundTrips(manager: EntityManager, work: () => Promise<void>): Promise<void> {
  const client = pending.has(manager) ? rawClient(manager) : undefined;
  if (!client) return work();
  sharing.set(manager, new SharedRoundTrips(client));
  try {
    await work();
  } finally {
    sharing.delete(manager);
  }
}

/**
 * Runs `work`, which reads rows and then changes them, after any other caller sharing round trips with it
 * (see shareRoundTrips) is done with its own such work: two callers must not both pick the same idle row.
 */
export function inTurn<T>(manager: EntityManager, work: () => Promise<T>): Promise<T> {
  const shared = sharing.get(manager);
  return shared ? shared.inTurn(work) : work();
}

/**
 * Runs `text` in a transaction that defers writes, with the held writes in the same round trip when it must
 * carry them, as one simple query (the parameters written into it): node-postgres sends it as one message, where
 * a statement with parameters takes five. Undefined when `manager` does not defer writes.
 * Any error aborts the transaction, as it would have had each statement run alone.
 */
export async function runDeferring(manager: EntityManager, text: string, params: readonly unknown[]): Promise<pg.QueryResult | undefined> {
  const writes = pending.get(manager);
  if (!writes) return undefined;
  const carried = mustCarry(writes, text) ? heldStatements(writes.splice(0)) : [];
  return send(manager, [...carried, interpolate(text, params)]);
}

/** Sends the writes a transaction still holds back, before it commits. */
export async function flushWrites(manager: EntityManager): Promise<void> {
  const writes = pending.get(manager);
  if (writes?.length) await send(manager, heldStatements(writes.splice(0)));
}

/**
 * The held writes as the statements to send. Single-row INSERTs of the same statement become one INSERT of all
 * their rows, in the order they were held, placed where the first of them was: a statement costs the server far
 * more than a row. Held rows reference no other held row (what is held: outbox rows, task events, outbound
 * deliveries), so the INSERTs of different tables may go in either order; any other statement keeps its place,
 * with everything held before it sent before it.
 */
export function heldStatements(writes: readonly HeldWrite[]): string[] {
  const statements: string[] = [];
  const rows = new Map<string, string[]>();
  const sendRows = () => {
    for (const [text, values] of rows) statements.push(`${shapeOf(text).head}${values.join(", ")}`);
    rows.clear();
  };
  for (const { text, params } of writes) {
    const { row } = shapeOf(text);
    if (row === undefined) {
      sendRows();
      statements.push(interpolate(text, params));
      continue;
    }
    const values = rows.get(text) ?? [];
    values.push(interpolate(row, params));
    rows.set(text, values);
  }
  sendRows();
  return statements;
}

/** node-postgres's own conversion of a parameter to its text form (arrays to array literals, dates, JSON). */
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): string | Buffer | null } }).utils;

/** A value as a SQL literal, written as node-postgres writes a parameter: untyped, so the statement's context gives its type. */
function literal(value: unknown): string {
  const prepared = value === undefined ? null : prepareValue(value);
  if (prepared === null) return "NULL";
  if (Buffer.isBuffer(prepared)) return `decode('${prepared.toString("hex")}', 'hex')`;
  return quoted(prepared);
}

/** A string literal as node-postgres's escapeLiteral writes one: quotes doubled, and in E'' form with backslashes doubled when it holds one. */
function quoted(text: string): string {
  const doubled = text.replaceAll("'", "''");
  return text.includes("\\") ? ` E'${doubled.replaceAll("\\", "\\\\")}'` : `'${doubled}'`;
}

/** A quoted literal or identifier (doubled quotes inside), or a parameter `$n`. */
const QUOTED_OR_PARAMETER = /'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g;

/** `text` with each `$n` outside quotes replaced by the literal of params[n-1]. */
export function interpolate(text: string, params: readonly unknown[]): string {
  return text.replace(QUOTED_OR_PARAMETER, (match, number: string | undefined) => {
    if (number === undefined) return match;
    const index = Number(number) - 1;
    if (index < 0 || index >= params.length) throw new Error(`parameter $${number} has no value`);
    return literal(params[index]);
  });
}
