import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DataSource, EntitySchema } from "typeorm";
import { openDatabase, type Database } from "../../src/db/data-source.js";
import { ENTITIES, TeamEntity, type Team } from "../../src/db/entities/index.js";
import { sql } from "../../src/db/sql.js";
import { createTestDatabase } from "../helpers/services.js";

/** What TypeORM would run to make the database match the entities it was opened with. */
async function schemaChanges(dataSource: DataSource): Promise<string[]> {
  const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
  return upQueries.map((query) => query.query);
}

interface FreshDatabase {
  database: Database;
  remove(): Promise<void>;
}

/** A new, empty database of each kind the app runs on, brought up to date by every migration. */
const OPENERS: Record<string, () => Promise<FreshDatabase>> = {
  postgres: async () => {
    const testDb = await createTestDatabase("schema_drift");
    const database = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent" });
    return { database, remove: () => testDb.drop() };
  },
  pglite: async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "entourage-schema-"));
    const database = await openDatabase({ dataDir });
    return { database, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
  },
};

describe.each(Object.keys(OPENERS))("a %s database made by the migrations", (kind) => {
  let fresh: FreshDatabase | undefined;

  // PGlite takes seconds to start, more on a busy machine.
  beforeAll(async () => {
    fresh = await OPENERS[kind]!();
  }, 120_000);
  afterAll(async () => {
    await fresh?.database.close();
    await fresh?.remove();
  });

  it("matches the entities: TypeORM would change nothing", async () => {
    expect(await schemaChanges(fresh!.database.dataSource)).toEqual([]);
  });

  it("compresses stored payloads and task descriptions with lz4 where the server has it, else with the default", async () => {
    const columns = await sql<{ attname: string; attcompression: string }>(
      fresh!.database.dataSource,
      `SELECT attname, attcompression FROM pg_attribute
        WHERE (attrelid, attname) IN (('webhook_deliveries'::regclass, 'payload'), ('tasks'::regclass, 'description')) ORDER BY attname`,
    );
    // Debian's PostgreSQL is built with lz4; PGlite is not, and keeps pglz ('' is the server's default).
    const method = kind === "postgres" ? "l" : "";
    expect(columns.rows).toEqual([{ attname: "description", attcompression: method }, { attname: "payload", attcompression: method }]);
  });

  it("has an entity for every table", async () => {
    const tables = await sql<{ table_name: string }>(
      fresh!.database.dataSource,
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'migrations'`,
    );
    const described = fresh!.database.dataSource.entityMetadatas.map((metadata) => metadata.tableName);
    expect(tables.rows.map((row) => row.table_name).sort()).toEqual(described.sort());
  });

  it("reads bigint as a number, as the other database does", async () => {
    const row = (await sql(fresh!.database.dataSource, "SELECT 9007199254740991::bigint AS id, count(*) AS n FROM tasks")).rows[0];
    expect(row).toEqual({ id: Number.MAX_SAFE_INTEGER, n: 0 });
  });
});

describe("the drift check", () => {
  it("notices an entity column that no migration made", async () => {
    const { database, remove } = await OPENERS.postgres!();
    const withMotto = new EntitySchema<Team & { motto: string | null }>({
      ...TeamEntity.options,
      columns: { ...TeamEntity.options.columns, motto: { type: "text", nullable: true } },
    });
    const drifted = new DataSource({
      ...database.dataSource.options,
      entities: ENTITIES.map((entity) => (entity === TeamEntity ? withMotto : entity)),
    });
    await drifted.initialize();
    try {
      expect(await schemaChanges(drifted)).toEqual([`ALTER TABLE "teams" ADD "motto" text`]);
    } finally {
      await drifted.destroy();
      await database.close();
      await remove();
    }
  });
});
