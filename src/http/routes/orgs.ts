import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { getOrganization, updateOrganization } from "../../domain/organizations.js";
import { adminOnly } from "../auth.js";
import { organization } from "../responses.js";
import { idParams, nameText } from "../schemas.js";

/** GitHub logins: letters, digits, hyphens; underscores for Enterprise Managed Users (login_shortcode). */
const githubLogin = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, "must be a GitHub user or organization login");

const patchBody = z.strictObject({
  name: nameText(200).optional(),
  github_login: githubLogin.nullable().optional(),
}).refine((body) => Object.keys(body).length > 0, { message: "give at least one of name, github_login" });

export async function orgRoutes(scope: FastifyInstance, opts: { db: DataSource }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get("/api/v1/orgs/:id", {
    schema: { tags: ["organizations"], summary: "Show the caller's organization", params: idParams, response: { 200: organization } },
  }, async (request) => getOrganization(db, request.principal.orgId, request.params.id));

  app.patch("/api/v1/orgs/:id", {
    schema: {
      tags: ["organizations"],
      summary: "Rename the organization or set the GitHub account whose App installations belong to it",
      params: idParams,
      body: patchBody,
      response: { 200: organization },
    },
    preHandler: adminOnly,
  }, async (request) => updateOrganization(db, request.principal.orgId, request.params.id, {
    name: request.body.name,
    githubLogin: request.body.github_login,
  }));
}
