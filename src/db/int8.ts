import pg from "pg";

/**
 * Reads int8 (bigint columns, GitHub ids) as a number when it is a safe integer, and as a bigint otherwise:
 * PGlite's own rule, so that callers see one type whichever database runs.
 */
export function parseInt8(text: string): number | bigint {
  const value = BigInt(text);
  return value < Number.MIN_SAFE_INTEGER || value > Number.MAX_SAFE_INTEGER ? value : Number(value);
}

/** node-postgres type parsers for the pool: int8 by parseInt8, every other type as pg reads it. */
export const pgTypeParsers = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary" ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};
