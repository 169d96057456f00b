import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { DataSource, MigrationExecutor, type DataSourceOptions } from "typeorm";
import { withAdvisoryLock } from "./advisory-lock.js";
import { ENTITIES } from "./entities/index.js";
import { acquireDataDirLock } from "./data-dir-lock.js";
import { MIGRATIONS } from "./migrations/index.js";
import { PostgresNamingStrategy } from "./naming-strategy.js";
import { pglitePoolDriver } from "./pglite-pool.js";
import { pgTypeParsers } from "./int8.js";
import { sql } from "./sql.js";

export interface Database {
  dataSource: DataSource;
  /** True when running on the embedded PGlite database. */
  embedded: boolean;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; unset opens the embedded database in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
}

const common = {
  type: "postgres",
  entities: ENTITIES,
  migrations: MIGRATIONS,
  migrationsTableName: "migrations",
  namingStrategy: new PostgresNamingStrategy(),
  // gen_random_uuid() is built into PostgreSQL 13 and later and into PGlite: no extension to install.
  uuidExtension: "pgcrypto",
  installExtensions: false,
  synchronize: false,
  logging: false,
} as const;

/** Serializes migration runs of several processes starting at once. */
const MIGRATION_LOCK = 7_246_131;

async function runMigrations(dataSource: DataSource, embedded: boolean): Promise<void> {
  if (embedded) {
    await dataSource.runMigrations({ transaction: "each" });
    return;
  }
  // The migrations run in the lock's transaction (the executor's "all" mode joins it), so they commit or fail together.
  await withAdvisoryLock(dataSource, MIGRATION_LOCK, "wait", (runner) => new MigrationExecutor(dataSource, runner).executePendingMigrations());
}

/** Opens the database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const dataSource = new DataSource({
      ...common,
      url: options.databaseUrl,
      poolSize: options.poolSize ?? 20,
      extra: { connectionTimeoutMillis: 5000, types: pgTypeParsers },
    } as DataSourceOptions);
    await dataSource.initialize();
    try {
      await runMigrations(dataSource, false);
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
    return { dataSource, embedded: false, close: () => dataSource.destroy() };
  }

  const dir = path.resolve(options.dataDir, "pglite");
  mkdirSync(dir, { recursive: true });
  const releaseLock = acquireDataDirLock(options.dataDir);
  try {
    const db = await PGlite.create(dir);
    const dataSource = new DataSource({ ...common, driver: pglitePoolDriver(db) } as DataSourceOptions);
    await dataSource.initialize();
    await runMigrations(dataSource, true);
    return {
      dataSource,
      embedded: true,
      close: async () => {
        await dataSource.destroy();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/** True when the database answers a trivial query. */
export async function databaseIsUp(dataSource: DataSource): Promise<boolean> {
  try {
    await sql(dataSource, "SELECT 1");
    return true;
  } catch {
    return false;
  }
}
