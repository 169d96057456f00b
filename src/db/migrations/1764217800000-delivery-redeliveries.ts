import type { MigrationInterface, QueryRunner } from "typeorm";

export class DeliveryRedeliveries1764217800000 implements MigrationInterface {
  name = "DeliveryRedeliveries1764217800000";

  async up(q: QueryRunner): Promise<void> {
    // Each redelivery is a new processing round with a job id of its own, so the queue does not dedupe it away.
    await q.query(`ALTER TABLE webhook_deliveries ADD COLUMN redeliveries integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN redeliveries`);
  }
}
