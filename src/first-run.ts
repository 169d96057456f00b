import { writeFileSync } from "node:fs";
import path from "node:path";
import type { DataSource } from "typeorm";
import { sql } from "./db/sql.js";
import { createApiKey } from "./domain/api-keys.js";
import { ensureOrganization, ensureTeam } from "./domain/organizations.js";
import type { Logger } from "./log.js";

export const ADMIN_KEY_FILE = "admin-api-key";

async function hasOrganizations(db: DataSource): Promise<boolean> {
  const existing = await sql<{ n: number }>(db, "SELECT count(*)::integer AS n FROM organizations");
  return existing.rows[0]!.n > 0;
}

/**
 * On an empty embedded database: an organization `default`, a team `default` and an admin API key,
 * written once to DATA_DIR/admin-api-key (mode 600) so that the API can be tried at once.
 */
export async function seedEmptyDatabase(db: DataSource, dataDir: string, log: Logger): Promise<void> {
  if (await hasOrganizations(db)) return;
  const file = path.resolve(dataDir, ADMIN_KEY_FILE);
  await db.transaction(async (manager) => {
    const org = await ensureOrganization(manager, { slug: "default", name: "Default organization" });
    await ensureTeam(manager, { orgId: org.id, slug: "default", name: "Default team" });
    const { key } = await createApiKey(manager, { orgId: org.id, name: "first-run admin" });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  });
  log.info({ file }, "created organization 'default', team 'default' and an admin API key (written to the file named here)");
}

/** On an empty PostgreSQL database nothing is seeded: one line says how to create the first organization and API key. */
export async function explainFirstApiKey(db: DataSource, log: Logger): Promise<void> {
  if (await hasOrganizations(db)) return;
  log.warn("the database has no organization yet: create one and its first admin API key with "
    + "`npm run --silent admin -- bootstrap --org <slug>` (in the Docker image: `node dist/cli/admin.js bootstrap --org <slug>`)");
}
