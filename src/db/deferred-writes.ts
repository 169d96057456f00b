import type { EntityManager } from "typeorm";
import pg from "pg";

/**
 * Writes whose result no one reads, held back within one transaction and sent in the same round trip as the
 * next statement (one simple-query message holding several statements) or at the latest with the commit's
 * own flush. A round trip costs far more here than the statement it carries, so a batch of deliveries that
 * writes an event, an outbox row and an outcome per delivery pays for one round trip instead of three.
 * Only node-postgres connections take part: on PGlite a deferred write runs at once.
 */
interface RawClient {
  query(text: string): Promise<pg.QueryResult | pg.QueryResult[]>;
}

const pending = new WeakMap<EntityManager, string[]>();

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
export function deferredWrites(manager: EntityManager): string[] | undefined {
  return pending.get(manager);
}

/** Holds `text` back when `manager` defers writes; false when the caller must run it itself. */
export function holdBack(manager: EntityManager, text: string, params: readonly unknown[]): boolean {
  const list = pending.get(manager);
  if (!list) return false;
  list.push(interpolate(text, params));
  return true;
}

/**
 * Runs the held-back writes and then `text` in one round trip, and returns the result of `text`.
 * Any error aborts the transaction, as it would have had each statement run alone.
 */
export async function runWithDeferred(manager: EntityManager, text: string, params: readonly unknown[]): Promise<pg.QueryResult> {
  const list = pending.get(manager)!;
  const statements = [...list.splice(0), interpolate(text, params)];
  const results = await rawClient(manager)!.query(statements.join(";\n"));
  return Array.isArray(results) ? results[results.length - 1]! : results;
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
