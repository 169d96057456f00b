import type { MigrationInterface, QueryRunner } from "typeorm";

export class TaskRuns1765100000000 implements MigrationInterface {
  name = "TaskRuns1765100000000";

  async up(q: QueryRunner): Promise<void> {
    // Each attempt of an agent's runner at a task, its output and how it ended.
    await q.query(`
      CREATE TABLE task_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id),
        task_id integer NOT NULL REFERENCES tasks(id),
        agent_id uuid NOT NULL REFERENCES agents(id),
        number integer NOT NULL,
        outcome text NOT NULL DEFAULT 'running'
          CHECK (outcome IN ('running', 'pull_request', 'moved', 'failed', 'timed_out', 'lost', 'cancelled')),
        reason text,
        exit_code integer,
        log text NOT NULL DEFAULT '',
        log_size bigint NOT NULL DEFAULT 0,
        started_at timestamptz(3) NOT NULL DEFAULT now(),
        heartbeat_at timestamptz(3) NOT NULL DEFAULT now(),
        finished_at timestamptz(3),
        UNIQUE (task_id, number)
      )`);
    await q.query(`CREATE UNIQUE INDEX task_runs_running_key ON task_runs (task_id) WHERE outcome = 'running'`);
    await q.query(`CREATE INDEX task_runs_heartbeat_idx ON task_runs (heartbeat_at) WHERE outcome = 'running'`);
    // The pull request a run opened, and the run budget of a task.
    await q.query(`ALTER TABLE tasks ADD COLUMN pull_request jsonb`);
    await q.query(`ALTER TABLE tasks ADD COLUMN failed_runs integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE tasks ADD COLUMN needs_human boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE github_comments DROP CONSTRAINT github_comments_kind_check`);
    await q.query(`ALTER TABLE github_comments ADD CONSTRAINT github_comments_kind_check CHECK (kind IN ('tracked', 'resolved', 'needs_human'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE github_comments DROP CONSTRAINT github_comments_kind_check`);
    await q.query(`ALTER TABLE github_comments ADD CONSTRAINT github_comments_kind_check CHECK (kind IN ('tracked', 'resolved'))`);
    await q.query(`ALTER TABLE tasks DROP COLUMN needs_human, DROP COLUMN failed_runs, DROP COLUMN pull_request`);
    await q.query(`DROP TABLE IF EXISTS task_runs`);
  }
}
