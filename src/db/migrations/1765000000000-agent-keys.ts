import type { MigrationInterface, QueryRunner } from "typeorm";

export class AgentKeys1765000000000 implements MigrationInterface {
  name = "AgentKeys1765000000000";

  async up(q: QueryRunner): Promise<void> {
    // A key bound to one agent acts as that agent, on its team's tasks only.
    await q.query(`ALTER TABLE api_keys ADD COLUMN agent_id uuid REFERENCES agents(id)`);
    await q.query(`ALTER TABLE api_keys ADD CONSTRAINT api_keys_agent_role CHECK (agent_id IS NULL OR role = 'agent')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_agent_role`);
    await q.query(`ALTER TABLE api_keys DROP COLUMN IF EXISTS agent_id`);
  }
}
