import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Stored payloads, and the task descriptions made from their issue bodies, are compressed with lz4 instead of pglz:
 * a 25 KB payload is compressed when it is stored and decompressed when a worker reads it, and lz4 does both several
 * times faster. Only rows written from now on use it (nothing is rewritten). A server built without lz4, such as
 * PGlite, keeps pglz.
 */
export class PayloadLz41796600000000 implements MigrationInterface {
  name = "PayloadLz41796600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE tasks ALTER COLUMN description SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported THEN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tasks ALTER COLUMN description SET COMPRESSION default`);
    await q.query(`ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION default`);
  }
}
