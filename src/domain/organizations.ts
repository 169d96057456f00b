import type { Organization } from "../db/entities/organization.js";
import type { Team } from "../db/entities/team.js";
import { SetList } from "../db/set-list.js";
import { pgErrorCode } from "../db/pg-error-code.js";
import { sql, type Queryable } from "../db/sql.js";
import { ConflictError, NotFoundError } from "./errors.js";

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

/** The caller's own organization; any other id is not found. */
export async function getOrganization(db: Queryable, orgId: string, id: string): Promise<Organization> {
  const result = id === orgId ? await sql<Organization>(db, "SELECT * FROM organizations WHERE id = $1", [id]) : undefined;
  if (!result?.rows[0]) throw new NotFoundError(`organization ${id}`);
  return result.rows[0];
}

export interface OrganizationChanges {
  name?: string;
  /** null: no GitHub account; installations then link to no organization by login. */
  githubLogin?: string | null;
}

/** Changes the caller's own organization; a github_login another organization holds (any case) is a conflict. */
export async function updateOrganization(db: Queryable, orgId: string, id: string, changes: OrganizationChanges): Promise<Organization> {
  if (id !== orgId) throw new NotFoundError(`organization ${id}`);
  const params: unknown[] = [id];
  const set = new SetList(params);
  if (changes.name !== undefined) set.set("name", changes.name);
  if (changes.githubLogin !== undefined) set.set("github_login", changes.githubLogin);
  try {
    const result = await sql<Organization>(db, `UPDATE organizations SET ${set.toSql()} WHERE id = $1 RETURNING *`, params);
    if (!result.rows[0]) throw new NotFoundError(`organization ${id}`);
    return result.rows[0];
  } catch (error) {
    if (pgErrorCode(error) === "23505") {
      throw new ConflictError(`github_login ${changes.githubLogin} is claimed by another organization`, "github_login_taken");
    }
    throw error;
  }
}
