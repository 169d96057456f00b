import type { EntitySchemaColumnOptions } from "typeorm";

/** GitHub ids fit in a JS number; pg returns bigint as text and PGlite as a number, so read both as numbers. */
export const bigintColumn: EntitySchemaColumnOptions = {
  type: "bigint",
  transformer: {
    to: (value: number | null | undefined) => value,
    from: (value: string | number | null) => (value === null ? null : Number(value)),
  },
};

export const uuidPrimary: EntitySchemaColumnOptions = { type: "uuid", primary: true, generated: "uuid" };
export const timestamp: EntitySchemaColumnOptions = { type: "timestamptz", precision: 3 };
export const createdAt: EntitySchemaColumnOptions = { ...timestamp, createDate: true };
export const updatedAt: EntitySchemaColumnOptions = { ...timestamp, updateDate: true };
