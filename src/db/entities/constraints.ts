import type { EntitySchemaOptions } from "typeorm";

type ForeignKeyOptions = NonNullable<EntitySchemaOptions<unknown>["foreignKeys"]>[number];
type CheckOptions = NonNullable<EntitySchemaOptions<unknown>["checks"]>[number];

/** A foreign key from `column` to the id of the entity named `target`. */
export function references(column: string, target: string): ForeignKeyOptions {
  return { target, columnNames: [column], referencedColumnNames: ["id"] };
}

/** The CHECK that keeps `column` to the values its TypeScript type lists, named as PostgreSQL names a column's check. */
export function oneOf(table: string, column: string, values: readonly string[]): CheckOptions {
  return { name: `${table}_${column}_check`, expression: `${column} IN (${values.map((value) => `'${value}'`).join(", ")})` };
}
