import { DefaultNamingStrategy, type Table } from "typeorm";

/** PostgreSQL cuts identifiers at 63 bytes, the name it then stores. */
const MAX_IDENTIFIER_LENGTH = 63;

function constraintName(tableOrName: Table | string, columns: string[], suffix: string): string {
  const table = (typeof tableOrName === "string" ? tableOrName : tableOrName.name).split(".").pop()!;
  return [table, ...columns, suffix].join("_").slice(0, MAX_IDENTIFIER_LENGTH);
}

/**
 * Names keys as PostgreSQL names them when a migration leaves them unnamed (teams_pkey, teams_org_id_fkey,
 * teams_org_id_slug_key): the entities then describe the constraints the migrations made, and a generated
 * migration names new ones the same way.
 */
export class PostgresNamingStrategy extends DefaultNamingStrategy {
  override primaryKeyName(tableOrName: Table | string): string {
    return constraintName(tableOrName, [], "pkey");
  }

  override uniqueConstraintName(tableOrName: Table | string, columnNames: string[]): string {
    return constraintName(tableOrName, columnNames, "key");
  }

  override foreignKeyName(tableOrName: Table | string, columnNames: string[]): string {
    return constraintName(tableOrName, columnNames, "fkey");
  }
}
