import type { EntitySchemaColumnOptions } from "typeorm";

export const uuidPrimary: EntitySchemaColumnOptions = { type: "uuid", primary: true, generated: "uuid" };
export const timestamp: EntitySchemaColumnOptions = { type: "timestamptz", precision: 3 };
export const createdAt: EntitySchemaColumnOptions = { ...timestamp, createDate: true };
export const updatedAt: EntitySchemaColumnOptions = { ...timestamp, updateDate: true };
