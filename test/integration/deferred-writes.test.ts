import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { openDatabase, type Database } from "../../src/db/data-source.js";
import { AbortedByOtherError, deferredWrites, deferWritesOf, heldStatements, interpolate, shareRoundTrips } from "../../src/db/deferred-writes.js";
import { flushWrites, inTurn, sql, write } from "../../src/db/sql.js";
import type { EntityManager } from "typeorm";
import { createTestDatabase, type TestDatabase } from "../helpers/services.js";

let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDb = await createTestDatabase("deferred_writes");
  database = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent" });
  await sql(database.dataSource, `CREATE TABLE samples (
    n integer, t text, tags text[], doc jsonb, at timestamptz, flag boolean, bytes bytea, id uuid, big bigint)`);
  await sql(database.dataSource, "CREATE TABLE others (n integer)");
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

const INSERT = "INSERT INTO samples (n, t, tags, doc, at, flag, bytes, id, big) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/** Values that a naive literal would get wrong: quotes, backslashes, `$1` in text, separators inside array items. */
const ROWS: unknown[][] = [
  [1, "it's a \\ backslash and a \"quote\" and $1 $10", ["a,b", "c\"d", "e\\f", "{g}", "", "NULL"], JSON.stringify({ s: "x'y", n: [1, null] }),
    new Date("2026-12-06T04:00:00.123Z"), true, Buffer.from([0, 1, 254, 255]), "0196d1f0-0000-7000-8000-000000000001", "9007199254740993"],
  [2, "émoji 🚀 and\nnew line\ttab", [], "[]", new Date(0), false, Buffer.alloc(0), "0196d1f0-0000-7000-8000-000000000002", 0],
  [3, null, null, null, null, null, null, null, null],
  [4, undefined, ["only"], "\"a json string\"", new Date("1999-12-31T23:59:59.999Z"), true, null, null, -5],
];

async function stored(): Promise<unknown[]> {
  return (await sql(database.dataSource, "SELECT * FROM samples ORDER BY n")).rows;
}

/** Records the text of every message sent through the transaction's connection until the returned function is called. */
function recordMessages(manager: EntityManager, sent: string[]): () => void {
  const client = (manager.queryRunner as unknown as { databaseConnection: { query(query: unknown): unknown } }).databaseConnection;
  const query = client.query.bind(client);
  client.query = (message: unknown) => {
    sent.push(typeof message === "string" ? message : (message as { text: string }).text);
    return query(message);
  };
  return () => {
    client.query = query;
  };
}

describe("writes held back in a transaction", () => {
  it("store every kind of value exactly as the same statement with parameters does", async () => {
    for (const row of ROWS) await sql(database.dataSource, INSERT, row);
    const expected = await stored();
    await sql(database.dataSource, "DELETE FROM samples");

    await database.dataSource.transaction(async (manager) => {
      expect(deferWritesOf(manager)).toBe(true);
      for (const row of ROWS) await write(manager, INSERT, row);
      // Nothing has reached the database yet; the next statement carries the writes and sees them.
      expect(deferredWrites(manager)).toHaveLength(ROWS.length);
      const seen = await sql<{ count: number }>(manager, "SELECT count(*)::integer AS count FROM samples WHERE n = ANY($1)", [[1, 2, 3, 4]]);
      expect(seen.rows[0]!.count).toBe(4);
      expect(deferredWrites(manager)).toEqual([]);
    });
    expect(await stored()).toEqual(expected);
  });

  it("run in order, with the statement that carries them last, and are sent before the commit", async () => {
    await sql(database.dataSource, "DELETE FROM samples");
    await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      await write(manager, INSERT, [10, "first", null, null, null, null, null, null, null]);
      await write(manager, "UPDATE samples SET t = t || ' then second' WHERE n = $1", [10]);
      const updated = await sql<{ t: string }>(manager, "UPDATE samples SET t = t || ' then third' WHERE n = $1 RETURNING t", [10]);
      expect(updated.rows).toEqual([{ t: "first then second then third" }]);
      expect(updated.rowCount).toBe(1);
      await write(manager, INSERT, [11, "last", null, null, null, null, null, null, null]);
      await flushWrites(manager);
    });
    expect((await stored()).map((r) => (r as { t: string }).t)).toEqual(["first then second then third", "last"]);
  });

  it("are undone with the transaction when a statement carrying them fails", async () => {
    await sql(database.dataSource, "DELETE FROM samples");
    await expect(database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      await write(manager, INSERT, [20, "held", null, null, null, null, null, null, null]);
      await sql(manager, "SELECT 1 / $1::integer", [0]);
    })).rejects.toThrow(/division by zero/);
    expect(await stored()).toEqual([]);
  });

  it("run at once outside a transaction that defers them", async () => {
    await sql(database.dataSource, "DELETE FROM samples");
    await write(database.dataSource, INSERT, [30, "now", null, null, null, null, null, null, null]);
    await database.dataSource.transaction(async (manager) => {
      await write(manager, INSERT, [31, "in a plain transaction", null, null, null, null, null, null, null]);
      expect(deferredWrites(manager)).toBeUndefined();
      expect((await sql(database.dataSource, "SELECT n FROM samples")).rows).toEqual([{ n: 30 }]);
    });
    expect((await stored()).map((r) => (r as { n: number }).n)).toEqual([30, 31]);
  });
});

describe("writes held back past statements that cannot see them", () => {
  it("stay held through a SELECT or INSERT that names none of their tables, and go with the first that does", async () => {
    await sql(database.dataSource, "DELETE FROM samples");
    await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      await write(manager, INSERT, [50, "held", null, null, null, null, null, null, null]);
      expect((await sql(manager, "SELECT $1::integer AS n", [1])).rows).toEqual([{ n: 1 }]);
      await sql(manager, "INSERT INTO others (n) VALUES ($1)", [2]);
      await write(manager, INSERT, [51, "held too", null, null, null, null, null, null, null]);
      expect(deferredWrites(manager)).toHaveLength(2);
      const seen = await sql<{ n: number }>(manager, "SELECT n FROM samples ORDER BY n");
      expect(seen.rows).toEqual([{ n: 50 }, { n: 51 }]);
      expect(deferredWrites(manager)).toEqual([]);
    });
  });

  it("go with any statement that changes rows, and with every statement once a held write is not an INSERT", async () => {
    await sql(database.dataSource, "DELETE FROM samples");
    await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      await write(manager, INSERT, [60, "held", null, null, null, null, null, null, null]);
      await sql(manager, "UPDATE others SET n = n WHERE false");
      expect(deferredWrites(manager)).toEqual([]);
      await write(manager, "UPDATE samples SET t = 'changed' WHERE n = $1", [60]);
      await sql(manager, "SELECT 1");
      expect(deferredWrites(manager)).toEqual([]);
    });
    expect((await sql(database.dataSource, "SELECT t FROM samples WHERE n = 60")).rows).toEqual([{ t: "changed" }]);
  });
});

describe("writes held back as INSERTs of many rows", () => {
  it("keep the order they were held in: clock_timestamp() never goes back from one row to the next", async () => {
    await sql(database.dataSource, "DELETE FROM samples");
    const stamped = "INSERT INTO samples (n, t, at) VALUES ($1, $2, clock_timestamp())";
    const sent: string[] = [];
    await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      const restore = recordMessages(manager, sent);
      for (const n of [40, 41, 42]) {
        await write(manager, stamped, [n, `row ${n}`]);
        await write(manager, "INSERT INTO samples (n, t) VALUES ($1, 'other')", [n + 100]);
      }
      await flushWrites(manager);
      restore();
    });
    // Six writes reached the server in one message, as two INSERTs of three rows each.
    expect(sent).toEqual([
      "INSERT INTO samples (n, t, at) VALUES ('40', 'row 40', clock_timestamp()), ('41', 'row 41', clock_timestamp()), ('42', 'row 42', clock_timestamp());\n" +
      "INSERT INTO samples (n, t) VALUES ('140', 'other'), ('141', 'other'), ('142', 'other')",
    ]);
    const rows = (await sql<{ n: number; at: string }>(database.dataSource, "SELECT n, at::text FROM samples WHERE t <> 'other' ORDER BY n")).rows;
    expect(rows.map((r) => r.n)).toEqual([40, 41, 42]);
    // Rows of one statement may share a microsecond; the tables that list by time break ties by a time-ordered id.
    expect(rows.map((r) => r.at)).toEqual(rows.map((r) => r.at).sort());
    expect((await sql(database.dataSource, "SELECT n FROM samples WHERE t = 'other' ORDER BY n")).rows).toEqual([{ n: 140 }, { n: 141 }, { n: 142 }]);
  });

  it("are made of single-row INSERTs of one statement, the others kept in their place", () => {
    const a = "INSERT INTO a (x, y) VALUES ($1, f($2))";
    const b = "INSERT INTO b (x) VALUES ($1)";
    const update = "UPDATE a SET y = $1";
    const held = (text: string, ...params: unknown[]) => ({ text, params });
    expect(heldStatements([held(a, 1, "p"), held(b, 2), held(a, 3, "q"), held(update, 4), held(a, 5, "r")])).toEqual([
      "INSERT INTO a (x, y) VALUES ('1', f('p')), ('3', f('q'))",
      "INSERT INTO b (x) VALUES ('2')",
      "UPDATE a SET y = '4'",
      "INSERT INTO a (x, y) VALUES ('5', f('r'))",
    ]);
    // An INSERT that does more than add one row is sent as it is, each time.
    for (const text of [
      "INSERT INTO a (x) VALUES ($1) ON CONFLICT (x) DO NOTHING",
      "INSERT INTO a (x) VALUES ($1) RETURNING x",
      "INSERT INTO a (x) VALUES ($1) ON CONFLICT (x) DO UPDATE SET y = f(a.x)",
      "INSERT INTO a (x) VALUES ($1), ($1)",
      "INSERT INTO a (x) SELECT $1",
    ]) {
      expect(heldStatements([held(text, 7), held(text, 8)])).toEqual([interpolate(text, [7]), interpolate(text, [8])]);
    }
  });
});

describe("statements of callers running at the same time in one transaction", () => {
  it("share round trips, each caller getting its own results in the order it asked", async () => {
    const sent: string[] = [];
    const got = await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      const restore = recordMessages(manager, sent);
      const answers: number[][] = [[], [], []];
      await shareRoundTrips(manager, async () => {
        await Promise.all([0, 1, 2].map(async (caller) => {
          for (const step of [1, 2]) {
            answers[caller]!.push((await sql<{ v: number }>(manager, "SELECT $1::integer * 10 + $2::integer AS v", [caller, step])).rows[0]!.v);
          }
        }));
      });
      restore();
      return answers;
    });
    expect(got).toEqual([[1, 2], [11, 12], [21, 22]]);
    // Six statements, two round trips.
    expect(sent).toEqual([
      "SELECT '0'::integer * 10 + '1'::integer AS v;\nSELECT '1'::integer * 10 + '1'::integer AS v;\nSELECT '2'::integer * 10 + '1'::integer AS v",
      "SELECT '0'::integer * 10 + '2'::integer AS v;\nSELECT '1'::integer * 10 + '2'::integer AS v;\nSELECT '2'::integer * 10 + '2'::integer AS v",
    ]);
  });

  it("give a failed statement's error to its caller, and every other caller in its message an AbortedByOtherError", async () => {
    const settled = await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      let outcomes: PromiseSettledResult<unknown>[] = [];
      await shareRoundTrips(manager, async () => {
        outcomes = await Promise.allSettled(["SELECT 1", "SELECT 1 / 0", "SELECT 3"].map((text) => sql(manager, text)));
      });
      return outcomes;
    }).catch((error: unknown) => error);
    expect(Array.isArray(settled)).toBe(true);
    const [first, failed, last] = settled as PromiseSettledResult<unknown>[];
    expect(failed).toMatchObject({ status: "rejected", reason: { code: "22012" } });
    for (const other of [first, last]) {
      expect(other).toMatchObject({ status: "rejected" });
      expect((other as PromiseRejectedResult).reason).toBeInstanceOf(AbortedByOtherError);
      expect((other as PromiseRejectedResult).reason).toMatchObject({ code: "25P02" });
    }
  });

  it("take turns in inTurn: a read and the write that follows it are not split by another caller's", async () => {
    await sql(database.dataSource, "DELETE FROM others");
    await sql(database.dataSource, "INSERT INTO others (n) VALUES (0)");
    await database.dataSource.transaction(async (manager) => {
      deferWritesOf(manager);
      await shareRoundTrips(manager, async () => {
        await Promise.all(Array.from({ length: 5 }, () => inTurn(manager, async () => {
          const { n } = (await sql<{ n: number }>(manager, "SELECT n FROM others")).rows[0]!;
          await sql(manager, "UPDATE others SET n = $1", [n + 1]);
        })));
      });
    });
    // Had the five reads shared one message, each would have read 0 and the count would end at 1.
    expect((await sql(database.dataSource, "SELECT n FROM others")).rows).toEqual([{ n: 5 }]);
  });
});

describe("interpolate", () => {
  it("replaces $n outside quotes only, $10 as itself, and refuses a parameter it was not given", () => {
    const params = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(interpolate("SELECT $1, '$1', \"$2\", $10, 'it''s $3'", params)).toBe("SELECT '1', '$1', \"$2\", '10', 'it''s $3'");
    expect(() => interpolate("SELECT $2", [1])).toThrow("parameter $2 has no value");
    expect(() => interpolate("SELECT $0", [1])).toThrow("parameter $0 has no value");
  });
});
