import type { MigrationInterface, QueryRunner } from "typeorm";

export class AgentMessages1765000000001 implements MigrationInterface {
  name = "AgentMessages1765000000001";

  async up(q: QueryRunner): Promise<void> {
    // Messages to an agent about one of its team's tasks, read through its MCP inbox.
    await q.query(`
      CREATE TABLE agent_messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id),
        agent_id uuid NOT NULL REFERENCES agents(id),
        task_id integer NOT NULL REFERENCES tasks(id),
        sender_type text NOT NULL CHECK (sender_type IN ('person', 'review', 'system')),
        sender text,
        body text NOT NULL,
        read_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX agent_messages_unread_idx ON agent_messages (agent_id, created_at) WHERE read_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS agent_messages`);
  }
}
