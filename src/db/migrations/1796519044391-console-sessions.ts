import type { MigrationInterface, QueryRunner } from "typeorm";

export class ConsoleSessions1796519044391 implements MigrationInterface {
  name = "ConsoleSessions1796519044391";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "console_sessions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "token_hash" text NOT NULL, "csrf_token" text NOT NULL, "org_id" uuid NOT NULL, "api_key_id" uuid NOT NULL, "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "console_sessions_token_hash_key" UNIQUE ("token_hash"), CONSTRAINT "console_sessions_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "console_sessions_expires_idx" ON "console_sessions"  ("expires_at") `);
    await q.query(`ALTER TABLE "console_sessions" ADD CONSTRAINT "console_sessions_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE NO ACTION ON UPDATE NO ACTION`);
    await q.query(`ALTER TABLE "console_sessions" ADD CONSTRAINT "console_sessions_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE NO ACTION ON UPDATE NO ACTION`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "console_sessions" DROP CONSTRAINT "console_sessions_api_key_id_fkey"`);
    await q.query(`ALTER TABLE "console_sessions" DROP CONSTRAINT "console_sessions_org_id_fkey"`);
    await q.query(`DROP INDEX "public"."console_sessions_expires_idx"`);
    await q.query(`DROP TABLE "console_sessions"`);
  }
}
