import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { ConflictError } from "../../domain/errors.js";
import { getInstallation, listInstallations } from "../../domain/installations.js";
import { updateWebhook } from "../../domain/webhooks.js";
import { adminOnly } from "../auth.js";
import { installation, page } from "../responses.js";
import { idParams, pageQuery } from "../schemas.js";

const installationChanges = z.object({
  team_id: z.uuid().nullable().optional(),
  auto_assign: z.boolean().optional(),
  events: z.array(z.string().min(1)).min(1).optional(),
  active: z.boolean().optional(),
}).strict().refine((body) => Object.keys(body).length > 0, { message: "name at least one of team_id, auto_assign, events, active" });

/** The organization's GitHub App installations: the repositories they cover and the team they feed. */
export async function installationRoutes(scope: FastifyInstance, opts: { db: DataSource }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  app.get("/api/v1/installations", {
    schema: { tags: ["installations"], summary: "List the organization's GitHub App installations, newest first", querystring: pageQuery, response: { 200: page(installation) } },
  }, async (request) => listInstallations(db, request.principal.orgId, request.query));

  app.get("/api/v1/installations/:id", {
    schema: { tags: ["installations"], summary: "An installation with its repositories, team, events and settings", params: idParams, response: { 200: installation } },
  }, async (request) => getInstallation(db, request.principal.orgId, request.params.id));

  app.patch("/api/v1/installations/:id", {
    schema: { tags: ["installations"], summary: "Change the team, auto_assign, events or active flag of an installation (its webhook row)", params: idParams, body: installationChanges, response: { 200: installation } },
    preHandler: adminOnly,
  }, async (request) => {
    const { orgId } = request.principal;
    const installation = await getInstallation(db, orgId, request.params.id);
    if (!installation.webhook_id) throw new ConflictError(`installation ${installation.id} has no settings yet: it has not been linked to this organization`, "installation_not_linked");
    const { team_id, auto_assign, events, active } = request.body;
    await updateWebhook(db, orgId, installation.webhook_id, {
      teamId: team_id,
      events,
      active,
      configPatch: auto_assign === undefined ? undefined : { auto_assign },
    });
    return getInstallation(db, orgId, installation.id);
  });
}
