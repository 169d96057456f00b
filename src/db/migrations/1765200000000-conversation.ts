import type { MigrationInterface, QueryRunner } from "typeorm";

export class Conversation1765200000000 implements MigrationInterface {
  name = "Conversation1765200000000";

  async up(q: QueryRunner): Promise<void> {
    // An agent's question waits for a person's answer on the issue.
    await q.query(`ALTER TABLE tasks ADD COLUMN waiting_for_human boolean NOT NULL DEFAULT false`);
    // Comments of which a task has several: a question per question asked, a reply per command answered.
    await q.query(`ALTER TABLE github_comments ADD COLUMN ref text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE github_comments DROP CONSTRAINT github_comments_task_id_kind_key`);
    await q.query(`ALTER TABLE github_comments ADD CONSTRAINT github_comments_task_id_kind_ref_key UNIQUE (task_id, kind, ref)`);
    await q.query(`ALTER TABLE github_comments DROP CONSTRAINT github_comments_kind_check`);
    await q.query(`ALTER TABLE github_comments ADD CONSTRAINT github_comments_kind_check CHECK (kind IN ('tracked', 'resolved', 'needs_human', 'question', 'reply'))`);
    // Installations hear of comments and reviews from now on.
    await q.query(`UPDATE webhooks SET events = events || ARRAY['issue_comment', 'pull_request_review']
                    WHERE provider = 'github_app' AND NOT ('issue_comment' = ANY(events)) AND NOT ('*' = ANY(events))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM github_comments WHERE kind IN ('question', 'reply')`);
    await q.query(`ALTER TABLE github_comments DROP CONSTRAINT github_comments_kind_check`);
    await q.query(`ALTER TABLE github_comments ADD CONSTRAINT github_comments_kind_check CHECK (kind IN ('tracked', 'resolved', 'needs_human'))`);
    await q.query(`ALTER TABLE github_comments DROP CONSTRAINT github_comments_task_id_kind_ref_key`);
    await q.query(`ALTER TABLE github_comments ADD CONSTRAINT github_comments_task_id_kind_key UNIQUE (task_id, kind)`);
    await q.query(`ALTER TABLE github_comments DROP COLUMN ref`);
    await q.query(`ALTER TABLE tasks DROP COLUMN waiting_for_human`);
  }
}
