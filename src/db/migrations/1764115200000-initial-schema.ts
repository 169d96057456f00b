import type { MigrationInterface, QueryRunner } from "typeorm";

const created = "created_at timestamptz(3) NOT NULL DEFAULT now()";
const updated = "updated_at timestamptz(3) NOT NULL DEFAULT now()";

export class InitialSchema1764115200000 implements MigrationInterface {
  name = "InitialSchema1764115200000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL UNIQUE,
        name text NOT NULL,
        github_login text,
        ${created}, ${updated}
      )`);
    await q.query(`CREATE UNIQUE INDEX organizations_github_login_key ON organizations (lower(github_login))`);

    await q.query(`
      CREATE TABLE teams (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id),
        slug text NOT NULL,
        name text NOT NULL,
        ${created}, ${updated},
        UNIQUE (org_id, slug)
      )`);

    await q.query(`
      CREATE TABLE agents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id),
        team_id uuid NOT NULL REFERENCES teams(id),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('manager', 'engineer', 'reviewer')),
        status text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'working', 'paused')),
        config jsonb NOT NULL DEFAULT '{}',
        idle_since timestamptz(3) DEFAULT now(),
        ${created}, ${updated},
        UNIQUE (team_id, name)
      )`);

    await q.query(`
      CREATE TABLE tasks (
        id serial PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id),
        team_id uuid NOT NULL REFERENCES teams(id),
        parent_id integer REFERENCES tasks(id),
        title text NOT NULL,
        description text NOT NULL DEFAULT '',
        priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('critical', 'high', 'medium', 'low')),
        status text NOT NULL DEFAULT 'todo'
          CHECK (status IN ('todo', 'in_progress', 'in_review', 'in_approval', 'merging', 'done', 'cancelled', 'archived')),
        tags text[] NOT NULL DEFAULT '{}',
        assignee_id uuid REFERENCES agents(id),
        source jsonb,
        ${created}, ${updated},
        completed_at timestamptz(3)
      )`);
    // One task per GitHub issue or pull request within an organization.
    await q.query(`
      CREATE UNIQUE INDEX tasks_source_key ON tasks
        (org_id, (source->>'repository'), (source->>'kind'), ((source->>'number')::integer))
        WHERE source IS NOT NULL`);
    await q.query(`CREATE INDEX tasks_team_created_idx ON tasks (team_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX tasks_parent_idx ON tasks (parent_id) WHERE parent_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE task_dependencies (
        task_id integer NOT NULL REFERENCES tasks(id),
        depends_on_id integer NOT NULL REFERENCES tasks(id),
        PRIMARY KEY (task_id, depends_on_id),
        CHECK (task_id <> depends_on_id)
      )`);

    await q.query(`
      CREATE TABLE task_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        task_id integer NOT NULL REFERENCES tasks(id),
        org_id uuid NOT NULL REFERENCES organizations(id),
        type text NOT NULL,
        from_status text,
        to_status text,
        actor_type text NOT NULL,
        actor_id text,
        data jsonb NOT NULL DEFAULT '{}',
        ${created}
      )`);
    await q.query(`CREATE INDEX task_events_task_idx ON task_events (task_id, created_at DESC, id DESC)`);
    await q.query(`
      CREATE FUNCTION task_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'task_events is append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER task_events_append_only BEFORE UPDATE OR DELETE ON task_events
        FOR EACH ROW EXECUTE FUNCTION task_events_append_only()`);

    await q.query(`
      CREATE TABLE installations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        github_installation_id bigint NOT NULL UNIQUE,
        org_id uuid REFERENCES organizations(id),
        account_login text,
        account_type text,
        repository_selection text,
        repositories text[],
        permissions jsonb NOT NULL DEFAULT '{}',
        suspended_at timestamptz(3),
        deleted_at timestamptz(3),
        ${created}, ${updated}
      )`);

    await q.query(`
      CREATE TABLE webhooks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id),
        team_id uuid REFERENCES teams(id),
        installation_id uuid UNIQUE REFERENCES installations(id),
        name text NOT NULL,
        provider text NOT NULL,
        events text[] NOT NULL,
        config jsonb NOT NULL DEFAULT '{}',
        active boolean NOT NULL DEFAULT true,
        secret text,
        previous_secret text,
        previous_secret_expires_at timestamptz(3),
        deleted_at timestamptz(3),
        ${created}, ${updated}
      )`);
    await q.query(`CREATE INDEX webhooks_org_created_idx ON webhooks (org_id, created_at DESC, id DESC)`);

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        receiver text NOT NULL,
        webhook_id uuid REFERENCES webhooks(id),
        org_id uuid REFERENCES organizations(id),
        github_delivery_id text NOT NULL,
        event_type text NOT NULL,
        action text,
        github_installation_id bigint,
        payload_summary jsonb NOT NULL DEFAULT '{}',
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'received'
          CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
        action_taken text,
        task_id integer REFERENCES tasks(id),
        error text,
        attempts integer NOT NULL DEFAULT 0,
        ${created},
        processed_at timestamptz(3),
        UNIQUE (receiver, github_delivery_id)
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (created_at) WHERE status = 'received'`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id),
        name text NOT NULL,
        role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'agent')),
        key_hash text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        last_used_at timestamptz(3),
        revoked_at timestamptz(3),
        ${created}
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      "api_keys", "webhook_deliveries", "webhooks", "installations", "task_events", "task_dependencies",
      "tasks", "agents", "teams", "organizations",
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS task_events_append_only()`);
  }
}
