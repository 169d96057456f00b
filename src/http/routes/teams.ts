import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { NotFoundError } from "../../domain/errors.js";
import { createTeam, getTeam, listTeams, TEAM_SLUG_MAX, TEAM_SLUG_PATTERN } from "../../domain/teams.js";
import { adminOnly } from "../auth.js";
import { page, team } from "../responses.js";
import { idParams, nameText, pageQuery } from "../schemas.js";

const orgParams = z.object({ org_id: z.uuid() });

const createBody = z.strictObject({
  name: nameText(200),
  slug: z.string().max(TEAM_SLUG_MAX).regex(TEAM_SLUG_PATTERN, "must be lowercase letters and digits separated by single hyphens").optional(),
});

/** Only the caller's own organization has teams it can see. */
function assertOwnOrg(orgId: string, requested: string): void {
  if (requested !== orgId) throw new NotFoundError(`organization ${requested}`);
}

export async function teamRoutes(scope: FastifyInstance, opts: { db: DataSource }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.post("/api/v1/orgs/:org_id/teams", {
    schema: { tags: ["teams"], summary: "Create a team (slug made from the name when absent)", params: orgParams, body: createBody, response: { 201: team } },
    preHandler: adminOnly,
  }, async (request, reply) => {
    const { orgId } = request.principal;
    assertOwnOrg(orgId, request.params.org_id);
    return reply.status(201).send(await createTeam(db, orgId, request.body));
  });

  app.get("/api/v1/orgs/:org_id/teams", {
    schema: { tags: ["teams"], summary: "List the organization's teams, newest first", params: orgParams, querystring: pageQuery, response: { 200: page(team) } },
  }, async (request) => {
    const { orgId } = request.principal;
    assertOwnOrg(orgId, request.params.org_id);
    return listTeams(db, orgId, request.query);
  });

  app.get("/api/v1/teams/:id", {
    schema: { tags: ["teams"], summary: "Show a team", params: idParams, response: { 200: team } },
  }, async (request) => getTeam(db, request.principal.orgId, request.params.id));
}
