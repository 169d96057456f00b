/**
 * The SET list of an UPDATE made of the changes a caller was given: each value becomes the next parameter
 * after those already in `params`. Column names and SQL are the caller's constants, never input.
 */
export class SetList {
  private readonly assignments: string[] = [];

  constructor(private readonly params: unknown[]) {}

  /** Adds `value` as the next parameter and returns its placeholder. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** `column = value`. */
  set(column: string, value: unknown): void {
    this.assignments.push(`${column} = ${this.param(value)}`);
  }

  /** An assignment written in SQL; a value in it goes through param(). */
  add(assignment: string): void {
    this.assignments.push(assignment);
  }

  get isEmpty(): boolean {
    return this.assignments.length === 0;
  }

  /** The assignments, and updated_at = now(). */
  toSql(): string {
    return [...this.assignments, "updated_at = now()"].join(", ");
  }
}
