import { parseArgs } from "node:util";
import { ConfigError, loadConfig, loadEnvFile, type Config } from "../config.js";
import { SecretBox } from "../crypto/secret-box.js";
import { DataDirLockedError } from "../db/data-dir-lock.js";
import { openDatabase } from "../db/data-source.js";
import { createApiKey } from "../domain/api-keys.js";
import { resealSecrets } from "../domain/encryption-key.js";
import { DomainError } from "../domain/errors.js";
import { ensureOrganization, ensureTeam, findOrganizationBySlug } from "../domain/organizations.js";
import { localSecret } from "../local-secrets.js";

const USAGE = `usage: npm run --silent admin -- <command>
  bootstrap --org <slug> [--name <name>] [--github-login <login>] [--team <slug>]
  keys create --org <slug> [--name <name>] [--role admin|agent]
  migrate
  reseal     seal every stored secret again with ENCRYPTION_KEY (opening it with ENCRYPTION_KEY_PREVIOUS)`;

class UsageError extends Error {}

/** The keys the running app uses: ENCRYPTION_KEY (or the embedded database's own) and the previous ones. */
function secretBox(config: Config, embedded: boolean): SecretBox {
  const embeddedKey = embedded ? localSecret(config.dataDir, "encryption-key") : undefined;
  const key = config.encryptionKey ?? embeddedKey;
  if (!key) throw new ConfigError("ENCRYPTION_KEY: required to reseal the secrets of a PostgreSQL database");
  return SecretBox.fromText(key, config.encryptionKeyPrevious, embeddedKey);
}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value.length === 0) throw new UsageError(`--${name} is required`);
  return value;
}

async function main(argv: string[]): Promise<unknown> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: "string" },
      name: { type: "string" },
      "github-login": { type: "string" },
      team: { type: "string" },
      role: { type: "string" },
    },
  });
  const command = positionals.join(" ");
  if (!["bootstrap", "keys create", "migrate", "reseal"].includes(command)) throw new UsageError(command ? `unknown command: ${command}` : "no command");
  if (values.role !== undefined && values.role !== "admin" && values.role !== "agent") throw new UsageError("--role must be admin or agent");

  loadEnvFile();
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const db = database.dataSource;
  try {
    if (command === "reseal") return { resealed: await resealSecrets(db, secretBox(config, database.embedded)) };
    if (command === "migrate") {
      const applied = await db.query("SELECT name FROM migrations ORDER BY id");
      return { migrations: (applied as { name: string }[]).map((m) => m.name) };
    }
    if (command === "keys create") {
      const org = await findOrganizationBySlug(db, required(values, "org"));
      const { record, key } = await createApiKey(db, { orgId: org.id, name: values.name, role: values.role as "admin" | "agent" | undefined });
      return { id: record.id, org_id: org.id, role: record.role, api_key: key };
    }
    const slug = required(values, "org");
    return await db.transaction(async (manager) => {
      const org = await ensureOrganization(manager, { slug, name: values.name, githubLogin: values["github-login"] });
      const team = await ensureTeam(manager, { orgId: org.id, slug: values.team ?? "default" });
      const { key } = await createApiKey(manager, { orgId: org.id, name: "bootstrap" });
      return { org_id: org.id, team_id: team.id, api_key: key };
    });
  } finally {
    await database.close();
  }
}

try {
  const result = await main(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  const known = error instanceof UsageError || error instanceof ConfigError || error instanceof DataDirLockedError || error instanceof DomainError;
  process.stderr.write(`admin: ${known ? (error as Error).message : String((error as Error).stack ?? error)}\n`);
  if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
