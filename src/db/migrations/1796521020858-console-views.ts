import type { MigrationInterface, QueryRunner } from "typeorm";

export class ConsoleViews1796521020858 implements MigrationInterface {
  name = "ConsoleViews1796521020858";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "webhook_deliveries" ADD "headers" jsonb NOT NULL DEFAULT '{}'`);
    await q.query(`CREATE INDEX "tasks_org_status_idx" ON "tasks"  ("org_id", "status", "created_at", "id") `);
    await q.query(`CREATE INDEX "webhook_deliveries_org_idx" ON "webhook_deliveries"  ("org_id", "created_at", "id", "status") `);
    await q.query(`CREATE INDEX "webhook_deliveries_processed_idx" ON "webhook_deliveries"  ("processed_at") `);
    await q.query(`CREATE INDEX "webhook_deliveries_repository_idx" ON "webhook_deliveries" ("org_id", (payload_summary->>'repository'), "created_at", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."webhook_deliveries_repository_idx"`);
    await q.query(`DROP INDEX "public"."webhook_deliveries_processed_idx"`);
    await q.query(`DROP INDEX "public"."webhook_deliveries_org_idx"`);
    await q.query(`DROP INDEX "public"."tasks_org_status_idx"`);
    await q.query(`ALTER TABLE "webhook_deliveries" DROP COLUMN "headers"`);
  }
}
