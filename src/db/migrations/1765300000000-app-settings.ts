import type { MigrationInterface, QueryRunner } from "typeorm";

export class AppSettings1765300000000 implements MigrationInterface {
  name = "AppSettings1765300000000";

  async up(q: QueryRunner): Promise<void> {
    // What the app keeps about itself: the check value of the key that sealed the stored secrets.
    await q.query(`
      CREATE TABLE app_settings (
        name text PRIMARY KEY,
        value text NOT NULL,
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS app_settings`);
  }
}
