// Writes the migration that brings the migrations' schema to the entities' one:
// `npm run migration:generate -- AddTaskEstimate` runs every migration on a scratch embedded database,
// asks TypeORM what it would change to match the entities, and writes that as the next migration.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../dist/db/data-source.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../src/db/migrations/", import.meta.url));

const name = process.argv[2] ?? "";
if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
  console.error("usage: npm run migration:generate -- <Name>   (PascalCase, e.g. AddTaskEstimate)");
  process.exit(2);
}

async function schemaChanges() {
  const dataDir = mkdtempSync(path.join(tmpdir(), "entourage-migration-"));
  try {
    const database = await openDatabase({ dataDir });
    try {
      return await database.dataSource.driver.createSchemaBuilder().log();
    } finally {
      await database.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function statement(query) {
  const text = query.query.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${");
  const params = query.parameters?.length ? `, ${JSON.stringify(query.parameters)}` : "";
  return `    await q.query(\`${text}\`${params});`;
}

const { upQueries, downQueries } = await schemaChanges();
if (upQueries.length === 0) {
  console.error("The migrations already make the schema the entities describe: nothing to generate.");
  process.exit(1);
}

const timestamp = Date.now();
const className = `${name}${timestamp}`;
const fileName = `${timestamp}-${name.replace(/(?<!^)([A-Z])/g, "-$1").toLowerCase()}`;
writeFileSync(path.join(MIGRATIONS_DIR, `${fileName}.ts`), `import type { MigrationInterface, QueryRunner } from "typeorm";

export class ${className} implements MigrationInterface {
  name = "${className}";

  async up(q: QueryRunner): Promise<void> {
${upQueries.map(statement).join("\n")}
  }

  async down(q: QueryRunner): Promise<void> {
${[...downQueries].reverse().map(statement).join("\n")}
  }
}
`);

const indexFile = path.join(MIGRATIONS_DIR, "index.ts");
const index = readFileSync(indexFile, "utf8")
  .replace(/((?:^import .*\n)+)/m, `$1import { ${className} } from "./${fileName}.js";\n`)
  .replace(/\];\s*$/, `,\n  ${className}];\n`);
writeFileSync(indexFile, index);
console.log(`Wrote src/db/migrations/${fileName}.ts and listed it in src/db/migrations/index.ts; read it before committing.`);
