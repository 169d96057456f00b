import { EntitySchema } from "typeorm";
import { createdAt, updatedAt, uuidPrimary } from "./columns.js";
import { references } from "./constraints.js";

export interface Team {
  id: string;
  org_id: string;
  slug: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

export const TeamEntity = new EntitySchema<Team>({
  name: "Team",
  tableName: "teams",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    slug: { type: "text" },
    name: { type: "text" },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  uniques: [{ columns: ["org_id", "slug"] }],
  foreignKeys: [references("org_id", "Organization")],
});
