import type { DataSource, EntityManager } from "typeorm";
import type { Delivery } from "../db/entities/delivery.js";
import type { Task, TaskPriority, TaskSource } from "../db/entities/task.js";
import type { Webhook, WebhookConfig } from "../db/entities/webhook.js";
import { sql } from "../db/sql.js";
import type { DeliveryOutcome, FinishedOutcome } from "./deliveries.js";
import { withLockedDelivery } from "./delivery-batch.js";
import { subscribes } from "./event-types.js";
import { payloadProblem } from "./github-payloads.js";
import type { IssueOrPullRequestPayload } from "./github-tasks.js";
import { routeDelivery, type Route, type RouteRows } from "./routing.js";

interface SenderPayload {
  sender?: { type?: string; login?: string };
}

/** Settings a repository may carry in .github/entourage.yml; the webhook's own config wins where both set one. */
export interface RepositorySettings {
  team?: string;
  auto_assign?: boolean;
  comment_on_create?: boolean;
  close_issue?: boolean;
  label_priorities?: Record<string, TaskPriority>;
  /** Agents' pull requests are opened as drafts unless this is false. */
  draft_pull_requests?: boolean;
}

/** A GitHub task's source, with what later syncs and comments need to know. */
export interface GitHubTaskSource extends TaskSource {
  /** The tags that came from the item's labels: a sync replaces these and keeps tags added by hand. */
  label_tags?: string[];
  /** .github/entourage.yml as read when the task was made; merged under the webhook's config when used. */
  repository_settings?: RepositorySettings;
}

/** What a handler works with: the locked delivery, where it goes, and the settings in force. */
export interface IntakeContext {
  manager: EntityManager;
  delivery: Delivery;
  payload: IssueOrPullRequestPayload & SenderPayload & Record<string, unknown>;
  webhook: Webhook;
  installationId: number | null;
  settings: WebhookConfig & RepositorySettings;
  /** The repository's own settings file, when it was read. */
  repositorySettings: RepositorySettings | undefined;
  /** The team tasks go to: the webhook's, else the repository settings' team slug. */
  teamId: string | null;
}

export type IntakeDecision = (context: IntakeContext) => Promise<DeliveryOutcome>;

/** A GitHub App or other bot (the App itself among them): its events never trigger anything. */
export function senderIsBot(payload: SenderPayload): boolean {
  return payload.sender?.type === "Bot" || (payload.sender?.login ?? "").endsWith("[bot]");
}

export function ignored(reason: string, extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return { status: "ignored", actionTaken: `ignored: ${reason}`, ...extra };
}

/** A payload that lacks what its handler reads fails at once: a retry would read the same payload. */
function invalidPayload(problem: string, extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return { status: "failed", actionTaken: `invalid payload: ${problem}`, ...extra };
}

/** The webhook's config over the repository's settings; label priorities merge label by label. */
export function mergeSettings(webhookConfig: WebhookConfig, repository: RepositorySettings | undefined): WebhookConfig & RepositorySettings {
  const merged: Record<string, unknown> = { ...(repository ?? {}) };
  for (const [key, value] of Object.entries(webhookConfig)) if (value !== undefined && value !== null) merged[key] = value;
  const labels = { ...(repository?.label_priorities ?? {}), ...((webhookConfig.label_priorities as Record<string, TaskPriority> | null | undefined) ?? {}) };
  if (Object.keys(labels).length > 0) merged.label_priorities = labels;
  return merged as WebhookConfig & RepositorySettings;
}

async function teamFor(manager: EntityManager, webhook: Webhook, settings: RepositorySettings): Promise<string | null> {
  if (webhook.team_id) return webhook.team_id;
  if (!settings.team) return null;
  const team = await sql<{ id: string }>(manager, "SELECT id FROM teams WHERE org_id = $1 AND slug = $2", [webhook.org_id, settings.team]);
  return team.rows[0]?.id ?? null;
}

/**
 * Runs one delivery through `decide` with the delivery row locked (see withLockedDelivery). `payload`, when
 * given, is the stored delivery's payload as the caller already holds it.
 */
export async function handleDelivery(
  db: DataSource,
  deliveryId: string,
  decide: IntakeDecision,
  repositorySettings?: () => Promise<RepositorySettings | undefined>,
  payload?: Record<string, unknown>,
): Promise<FinishedOutcome> {
  return withLockedDelivery(db, deliveryId, (manager, delivery, rows) => route(manager, delivery, rows, decide, repositorySettings), payload);
}

async function route(
  manager: EntityManager,
  delivery: Delivery,
  rows: RouteRows,
  decide: IntakeDecision,
  repositorySettings?: () => Promise<RepositorySettings | undefined>,
): Promise<DeliveryOutcome> {
  const routing = await routeDelivery(manager, delivery, rows);
  if ("ignored" in routing) return ignored(routing.ignored);
  const { webhook, installation }: Route = routing.route;
  const where = { webhookId: webhook.id, orgId: webhook.org_id };
  const payload = delivery.payload as IntakeContext["payload"];
  if (senderIsBot(payload)) return ignored(`sender ${payload.sender?.login ?? "?"} is a bot`, where);
  if (!subscribes(webhook.events, delivery.event_type)) {
    return ignored(`event ${delivery.event_type} is not in the webhook's events`, where);
  }
  const problem = payloadProblem(delivery.event_type, payload);
  if (problem) return invalidPayload(problem, where);
  // Read only for deliveries that get this far: ignored ones cost no GitHub call.
  const repository = installation ? await repositorySettings?.() : undefined;
  const settings = mergeSettings(webhook.config, repository);
  const context: IntakeContext = {
    manager, delivery, payload, webhook, settings, repositorySettings: repository,
    installationId: installation?.github_installation_id ?? null,
    teamId: await teamFor(manager, webhook, settings),
  };
  return { ...where, ...(await decide(context)) };
}

/** The task made from this repository's issue or pull request number, in the webhook's organization. */
export async function findSourceTask(manager: EntityManager, orgId: string, repository: string, kind: "issue" | "pull_request", number: number): Promise<Task | undefined> {
  const result = await sql<Task>(
    manager,
    `SELECT * FROM tasks WHERE org_id = $1 AND source->>'repository' = $2 AND source->>'kind' = $3
       AND (source->>'number')::integer = $4 FOR UPDATE`,
    [orgId, repository, kind, number],
  );
  return result.rows[0];
}
