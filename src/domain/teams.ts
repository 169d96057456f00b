import type { Team } from "../db/entities/team.js";
import { sql, type Queryable } from "../db/sql.js";
import { ConflictError, NotFoundError, ValidationError } from "./errors.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";

export const TEAM_SLUG_MAX = 64;
export const TEAM_SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** "Core Platform (EU)" → "core-platform-eu"; accents are dropped, so "Équipe" → "equipe". Empty when nothing is left. */
export function slugFromName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, TEAM_SLUG_MAX)
    .replace(/-+$/, "");
}

/** Creates a team; a slug the organization already has is a conflict, also when two requests race. */
export async function createTeam(db: Queryable, orgId: string, input: { name: string; slug?: string }): Promise<Team> {
  const slug = input.slug ?? slugFromName(input.name);
  if (!slug) throw new ValidationError("no slug can be made from this name: give a slug (lowercase letters, digits and hyphens)");
  const result = await sql<Team>(
    db,
    `INSERT INTO teams (org_id, slug, name) VALUES ($1, $2, $3)
     ON CONFLICT (org_id, slug) DO NOTHING RETURNING *`,
    [orgId, slug, input.name],
  );
  if (!result.rows[0]) throw new ConflictError(`the organization already has a team with slug ${slug}`, "team_slug_taken");
  return result.rows[0];
}

/**
 * Throws unless the team is one of the organization's (another organization's team is no team at all):
 * NotFoundError for the team a path names, ValidationError `invalid_team` for a `team_id` given in a body.
 */
export async function assertTeamOfOrg(db: Queryable, orgId: string, teamId: string, named: "in_path" | "in_body" = "in_path"): Promise<void> {
  const result = await sql(db, "SELECT 1 FROM teams WHERE id = $1 AND org_id = $2", [teamId, orgId]);
  if (result.rows.length > 0) return;
  throw named === "in_path" ? new NotFoundError(`team ${teamId}`) : new ValidationError(`team_id ${teamId} is not a team of this organization`, "invalid_team");
}

export async function getTeam(db: Queryable, orgId: string, id: string): Promise<Team> {
  const result = await sql<Team>(db, "SELECT * FROM teams WHERE id = $1 AND org_id = $2", [id, orgId]);
  if (!result.rows[0]) throw new NotFoundError(`team ${id}`);
  return result.rows[0];
}

export async function listTeams(db: Queryable, orgId: string, page: PageRequest): Promise<Page<Team>> {
  const query = pageQuery({ select: "SELECT * FROM teams", where: ["org_id = $1"], params: [orgId] }, page, "uuid");
  const result = await sql<Team>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}
