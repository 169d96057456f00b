import { EntitySchema } from "typeorm";
import { createdAt, updatedAt, uuidPrimary } from "./columns.js";

export interface Organization {
  id: string;
  slug: string;
  name: string;
  /** The GitHub account (user or organization) whose App installations belong to this organization. */
  github_login: string | null;
  created_at: Date;
  updated_at: Date;
}

export const OrganizationEntity = new EntitySchema<Organization>({
  name: "Organization",
  tableName: "organizations",
  columns: {
    id: uuidPrimary,
    slug: { type: "text", unique: true },
    name: { type: "text" },
    github_login: { type: "text", nullable: true },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  indices: [
    // Unique on lower(github_login), an expression TypeORM cannot describe: the initial migration made it.
    { name: "organizations_github_login_key", columns: ["github_login"], unique: true, synchronize: false },
  ],
});
