import type { MigrationInterface, QueryRunner } from "typeorm";

export class AgentsAtWork1764201600000 implements MigrationInterface {
  name = "AgentsAtWork1764201600000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tasks
        ADD COLUMN webhook_id uuid REFERENCES webhooks(id),
        ADD COLUMN auto_assign boolean NOT NULL DEFAULT false,
        ADD COLUMN dispatch_round integer NOT NULL DEFAULT 0,
        ADD COLUMN dispatched_at timestamptz(3),
        ADD COLUMN acknowledged_at timestamptz(3)`);
    await q.query(`
      CREATE INDEX tasks_waiting_idx ON tasks (team_id, created_at)
        WHERE status = 'todo' AND assignee_id IS NULL AND auto_assign`);
    await q.query(`CREATE INDEX tasks_assignee_idx ON tasks (assignee_id) WHERE assignee_id IS NOT NULL`);
    await q.query(`CREATE INDEX task_dependencies_depends_on_idx ON task_dependencies (depends_on_id)`);

    // Jobs decided inside a transaction: written with it, queued after it commits (a sweeper queues leftovers).
    await q.query(`
      CREATE TABLE job_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_name text NOT NULL,
        job_id text NOT NULL UNIQUE,
        payload jsonb NOT NULL,
        delay_ms integer NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        enqueued_at timestamptz(3)
      )`);
    await q.query(`CREATE INDEX job_outbox_pending_idx ON job_outbox (created_at) WHERE enqueued_at IS NULL`);

    // One comment of each kind per task on its GitHub issue or pull request; a retry edits it.
    await q.query(`
      CREATE TABLE github_comments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        task_id integer NOT NULL REFERENCES tasks(id),
        org_id uuid NOT NULL REFERENCES organizations(id),
        kind text NOT NULL CHECK (kind IN ('tracked', 'resolved')),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posting', 'posted', 'skipped', 'failed')),
        comment_id bigint,
        comment_url text,
        body text,
        error text,
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (task_id, kind)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS github_comments`);
    await q.query(`DROP TABLE IF EXISTS job_outbox`);
    await q.query(`DROP INDEX IF EXISTS task_dependencies_depends_on_idx`);
    await q.query(`
      ALTER TABLE tasks DROP COLUMN acknowledged_at, DROP COLUMN dispatched_at, DROP COLUMN dispatch_round,
        DROP COLUMN auto_assign, DROP COLUMN webhook_id`);
  }
}
