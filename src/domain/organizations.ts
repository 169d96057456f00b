import type { Organization } from "../db/entities/organization.js";
import type { Team } from "../db/entities/team.js";
import { sql, type Queryable } from "../db/sql.js";
import { NotFoundError } from "./errors.js";

/** Creates the organization if its slug is new; sets github_login when given. */
export async function ensureOrganization(
  db: Queryable,
  input: { slug: string; name?: string; githubLogin?: string },
): Promise<Organization> {
  const result = await sql<Organization>(
    db,
    `INSERT INTO organizations (slug, name, github_login) VALUES ($1, $2, $3)
     ON CONFLICT (slug) DO UPDATE
       SET github_login = COALESCE(EXCLUDED.github_login, organizations.github_login),
           name = CASE WHEN $4 THEN EXCLUDED.name ELSE organizations.name END,
           updated_at = now()
     RETURNING *`,
    [input.slug, input.name ?? input.slug, input.githubLogin ?? null, input.name !== undefined],
  );
  return result.rows[0]!;
}

export async function ensureTeam(db: Queryable, input: { orgId: string; slug: string; name?: string }): Promise<Team> {
  const result = await sql<Team>(
    db,
    `INSERT INTO teams (org_id, slug, name) VALUES ($1, $2, $3)
     ON CONFLICT (org_id, slug) DO UPDATE SET updated_at = teams.updated_at
     RETURNING *`,
    [input.orgId, input.slug, input.name ?? input.slug],
  );
  return result.rows[0]!;
}

export async function findOrganizationBySlug(db: Queryable, slug: string): Promise<Organization> {
  const result = await sql<Organization>(db, "SELECT * FROM organizations WHERE slug = $1", [slug]);
  if (!result.rows[0]) throw new NotFoundError(`organization ${slug}`);
  return result.rows[0];
}
