import type { DataSource, EntityManager } from "typeorm";
import type { Delivery } from "../db/entities/delivery.js";
import type { TaskPriority } from "../db/entities/task.js";
import { sql } from "../db/sql.js";
import { finishDelivery, type DeliveryOutcome } from "./deliveries.js";
import { subscribes } from "./event-types.js";
import { taskDraftFromGitHub, type IssueOrPullRequestPayload } from "./github-tasks.js";
import { routeDelivery } from "./routing.js";
import { createTaskFromSource } from "./tasks.js";

interface SenderPayload {
  sender?: { type?: string; login?: string };
}

export function senderIsBot(payload: SenderPayload): boolean {
  return payload.sender?.type === "Bot";
}

function ignored(reason: string, extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return { status: "ignored", actionTaken: `ignored: ${reason}`, ...extra };
}

/**
 * An opened issue or pull request becomes a task of the delivery's team; the task and the
 * delivery's outcome are written in one transaction, so a retry never makes a second task.
 */
export async function openTaskFromDelivery(db: DataSource, deliveryId: string): Promise<DeliveryOutcome> {
  return db.transaction(async (manager) => {
    // The row lock makes two workers holding the same delivery take turns.
    const locked = await sql<Delivery>(manager, "SELECT * FROM webhook_deliveries WHERE id = $1 FOR UPDATE", [deliveryId]);
    const delivery = locked.rows[0];
    if (!delivery) throw new Error(`delivery ${deliveryId} does not exist`);
    if (delivery.status !== "received") {
      return { status: delivery.status as DeliveryOutcome["status"], actionTaken: delivery.action_taken, taskId: delivery.task_id };
    }
    const outcome = await decide(manager, delivery);
    await finishDelivery(manager, delivery.id, outcome);
    return outcome;
  });
}

async function decide(db: EntityManager, delivery: Delivery): Promise<DeliveryOutcome> {
  const routing = await routeDelivery(db, delivery);
  if ("ignored" in routing) return ignored(routing.ignored);
  const { webhook, installation } = routing.route;
  const where = { webhookId: webhook.id, orgId: webhook.org_id };
  const payload = delivery.payload as unknown as IssueOrPullRequestPayload & SenderPayload;
  if (senderIsBot(payload)) return ignored(`sender ${payload.sender?.login ?? "?"} is a bot`, where);
  if (!subscribes(webhook.events, delivery.event_type)) {
    return ignored(`event ${delivery.event_type} is not in the webhook's events`, where);
  }
  if (!webhook.team_id) return ignored("the webhook has no team_id, so no task is created", where);
  const labelPriorities = (webhook.config.label_priorities ?? undefined) as Record<string, TaskPriority> | undefined;
  const draft = taskDraftFromGitHub(payload, { provider: installation ? "github_app" : "github", labelPriorities });
  const { task, created } = await createTaskFromSource(db, {
    orgId: webhook.org_id,
    teamId: webhook.team_id,
    draft,
    actor: { type: "webhook", id: webhook.id },
  });
  return {
    status: "processed",
    actionTaken: `${created ? "task_created" : "task_exists"}:${task.id}`,
    taskId: task.id,
    ...where,
  };
}
