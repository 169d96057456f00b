import type { MigrationInterface, QueryRunner } from "typeorm";

export class RedeliveryRequests1764300000000 implements MigrationInterface {
  name = "RedeliveryRequests1764300000000";

  async up(q: QueryRunner): Promise<void> {
    // GitHub deliveries we asked GitHub to send again, so that one is not asked for on every run.
    await q.query(`
      CREATE TABLE github_redelivery_requests (
        guid text PRIMARY KEY,
        hook_delivery_id bigint NOT NULL,
        event text,
        requested_at timestamptz(3) NOT NULL DEFAULT now(),
        requests integer NOT NULL DEFAULT 1
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS github_redelivery_requests`);
  }
}
