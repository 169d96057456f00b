/** Error code of a failed query, if any: Postgres's (23505 is a unique violation) or the driver's socket error (ECONNREFUSED). */
export function pgErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === "string" ? code : undefined;
}
