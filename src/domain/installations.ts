import type { DataSource, EntityManager } from "typeorm";
import type { Delivery } from "../db/entities/delivery.js";
import type { Installation } from "../db/entities/installation.js";
import type { Webhook } from "../db/entities/webhook.js";
import { sql, type Queryable } from "../db/sql.js";
import type { DeliveryOutcome, FinishedOutcome } from "./deliveries.js";
import { withLockedDelivery } from "./delivery-batch.js";
import { NotFoundError } from "./errors.js";
import { pageQuery, toPage, type Page, type PageRequest } from "./pagination.js";
import { ensureInstallation, ensureInstallationWebhook, linkOrganization } from "./routing.js";

interface InstallationPayload {
  action?: string;
  installation: {
    id: number;
    account?: { login?: string; type?: string };
    repository_selection?: string;
    permissions?: Record<string, string>;
  };
  repositories?: { full_name: string }[];
  repositories_added?: { full_name: string }[];
  repositories_removed?: { full_name: string }[];
  repository_selection?: string;
}

async function update(manager: EntityManager, id: string, set: string, params: unknown[] = []): Promise<Installation> {
  const result = await sql<Installation>(manager, `UPDATE installations SET ${set}, updated_at = now() WHERE id = $1 RETURNING *`, [id, ...params]);
  return result.rows[0]!;
}

/** The repositories an installation covers: null when it covers all of the account's. */
function coverage(selection: string | undefined, names: string[]): string[] | null {
  return selection === "all" ? null : names;
}

/** The full names of every repository the installation covers now, as GitHub lists them. */
export type RepositoryLister = () => Promise<string[]>;

async function apply(manager: EntityManager, delivery: Delivery, listRepositories?: RepositoryLister): Promise<DeliveryOutcome> {
  const payload = delivery.payload as unknown as InstallationPayload;
  const action = `${delivery.event_type}`;
  let installation = await ensureInstallation(manager, payload);
  const githubId = installation.github_installation_id;
  switch (action) {
    case "installation.created":
      installation = await update(
        manager, installation.id,
        "account_login = $2, account_type = $3, repository_selection = $4, repositories = $5, permissions = $6, deleted_at = NULL, suspended_at = NULL",
        [payload.installation.account?.login ?? installation.account_login, payload.installation.account?.type ?? installation.account_type,
          payload.installation.repository_selection ?? null,
          coverage(payload.installation.repository_selection, (payload.repositories ?? []).map((r) => r.full_name)),
          JSON.stringify(payload.installation.permissions ?? {})],
      );
      await sql(manager, "UPDATE webhooks SET active = true, updated_at = now() WHERE installation_id = $1", [installation.id]);
      break;
    case "installation.deleted":
      installation = await update(manager, installation.id, "deleted_at = now()");
      await sql(manager, "UPDATE webhooks SET active = false, updated_at = now() WHERE installation_id = $1", [installation.id]);
      break;
    case "installation.suspend":
      installation = await update(manager, installation.id, "suspended_at = now()");
      break;
    case "installation.unsuspend":
      installation = await update(manager, installation.id, "suspended_at = NULL");
      break;
    case "installation.new_permissions_accepted":
      installation = await update(manager, installation.id, "permissions = $2", [JSON.stringify(payload.installation.permissions ?? {})]);
      break;
    case "installation_repositories.added":
    case "installation_repositories.removed": {
      const added = (payload.repositories_added ?? []).map((r) => r.full_name);
      const removed = new Set((payload.repositories_removed ?? []).map((r) => r.full_name));
      const selection = payload.repository_selection ?? installation.repository_selection ?? undefined;
      // From "all" (or a list never seen) to "selected", the event names only the change: ask GitHub for the rest.
      const kept = selection === "selected" && installation.repositories === null && listRepositories
        ? await listRepositories()
        : [...new Set([...(installation.repositories ?? []), ...added])].filter((name) => !removed.has(name));
      installation = await update(manager, installation.id, "repository_selection = $2, repositories = $3", [selection ?? null, coverage(selection, kept)]);
      break;
    }
    default:
      return { status: "ignored", actionTaken: `ignored: no action for ${action}` };
  }
  const orgId = await linkOrganization(manager, installation);
  const webhook = orgId && !installation.deleted_at ? await ensureInstallationWebhook(manager, installation, orgId) : undefined;
  return {
    status: "processed",
    actionTaken: `${action.replace(/^installation(_repositories)?\./, "installation_")}:${githubId}`,
    orgId,
    webhookId: webhook?.id ?? null,
  };
}

/** installation and installation_repositories events keep the installation row as GitHub has it. */
export async function applyInstallationEvent(db: DataSource, deliveryId: string, listRepositories?: RepositoryLister): Promise<FinishedOutcome> {
  return withLockedDelivery(db, deliveryId, (manager, delivery) => apply(manager, delivery, listRepositories));
}

/** An installation as its organization's admins see it: which repositories feed which team, and how. */
export type InstallationView = Omit<Installation, "org_id"> & {
  /** The installation's webhook row and its settings; null while it has none. */
  webhook_id: string | null;
  team_id: Webhook["team_id"];
  events: Webhook["events"] | null;
  config: Webhook["config"] | null;
  active: Webhook["active"] | null;
};

const VIEW = `
  SELECT i.id, i.github_installation_id, i.account_login, i.account_type, i.repository_selection, i.repositories,
         i.permissions, i.suspended_at, i.deleted_at, w.id AS webhook_id, w.team_id, w.events, w.config, w.active,
         i.created_at, i.updated_at
    FROM installations i LEFT JOIN webhooks w ON w.installation_id = i.id`;

export async function listInstallations(db: Queryable, orgId: string, page: PageRequest): Promise<Page<InstallationView>> {
  const query = pageQuery({ select: VIEW, where: ["i.org_id = $1"], params: [orgId] }, page, "uuid", "i");
  const result = await sql<InstallationView>(db, query.text, query.params);
  return toPage(result.rows, query.limit);
}

export async function getInstallation(db: Queryable, orgId: string, id: string): Promise<InstallationView> {
  const result = await sql<InstallationView>(db, `${VIEW} WHERE i.id = $1 AND i.org_id = $2`, [id, orgId]);
  if (!result.rows[0]) throw new NotFoundError(`installation ${id}`);
  return result.rows[0];
}
