const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `text` is a uuid in its canonical form: only such a text may reach a uuid parameter, or Postgres fails the query. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}
