import type { EntityManager } from "typeorm";
import pg from "pg";

/**
 * Writes whose result no one reads, held back within one transaction and sent in the same round trip as a later
 * statement (one simple-query message holding several statements): the first one that could see them or be changed
 * by them (see mustCarry), or at the latest the flush before the commit. A round trip costs far more here than the
 * statement it carries, and a statement far more than a row: a batch of deliveries that writes an event and an
 * outbox row per delivery sends them as one INSERT of many rows per table (see heldStatements).
 * Only node-postgres connections take part: on PGlite a deferred write runs at once.
 */
interface RawClient {
  query(text: string): Promise<pg.QueryResult | pg.QueryResult[]>;
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
  const results = await rawClient(manager)!.query(statements.join(";\n"));
  return Array.isArray(results) ? results[results.length - 1]! : results;
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
