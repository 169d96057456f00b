import { EntitySchema } from "typeorm";
import { createdAt, timestamp, updatedAt, uuidPrimary } from "./columns.js";
import { references } from "./constraints.js";

export interface Installation {
  id: string;
  github_installation_id: number;
  org_id: string | null;
  account_login: string | null;
  account_type: string | null;
  repository_selection: string | null;
  /** owner/name of each repository the installation covers, when GitHub told us. */
  repositories: string[] | null;
  permissions: Record<string, string>;
  suspended_at: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const InstallationEntity = new EntitySchema<Installation>({
  name: "Installation",
  tableName: "installations",
  columns: {
    id: uuidPrimary,
    github_installation_id: { type: "bigint", unique: true },
    org_id: { type: "uuid", nullable: true },
    account_login: { type: "text", nullable: true },
    account_type: { type: "text", nullable: true },
    repository_selection: { type: "text", nullable: true },
    repositories: { type: "text", array: true, nullable: true },
    permissions: { type: "jsonb", default: {} },
    suspended_at: { ...timestamp, nullable: true },
    deleted_at: { ...timestamp, nullable: true },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  foreignKeys: [references("org_id", "Organization")],
});
