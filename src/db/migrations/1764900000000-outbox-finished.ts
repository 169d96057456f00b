import type { MigrationInterface, QueryRunner } from "typeorm";

export class OutboxFinished1764900000000 implements MigrationInterface {
  name = "OutboxFinished1764900000000";

  async up(q: QueryRunner): Promise<void> {
    // A queued job stays looked after until it finishes: a queue that lost it (Redis restarted empty) gets it again.
    await q.query(`ALTER TABLE job_outbox ADD COLUMN finished_at timestamptz(3)`);
    await q.query(`CREATE INDEX job_outbox_unfinished_idx ON job_outbox (created_at) WHERE enqueued_at IS NOT NULL AND finished_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS job_outbox_unfinished_idx`);
    await q.query(`ALTER TABLE job_outbox DROP COLUMN IF EXISTS finished_at`);
  }
}
