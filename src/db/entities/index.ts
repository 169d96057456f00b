export * from "./organization.js";
export * from "./team.js";
export * from "./agent.js";
export * from "./task.js";
export * from "./task-event.js";
export * from "./installation.js";
export * from "./webhook.js";
export * from "./delivery.js";
export * from "./api-key.js";
export * from "./outbound-webhook.js";
export * from "./outbound-delivery.js";
export * from "./task-dependency.js";
export * from "./outbox-job.js";
export * from "./github-comment.js";
export * from "./redelivery-request.js";
export * from "./agent-message.js";
export * from "./task-run.js";
export * from "./app-setting.js";
export * from "./console-session.js";

import { AgentEntity } from "./agent.js";
import { AgentMessageEntity } from "./agent-message.js";
import { AppSettingEntity } from "./app-setting.js";
import { ConsoleSessionEntity } from "./console-session.js";
import { ApiKeyEntity } from "./api-key.js";
import { DeliveryEntity } from "./delivery.js";
import { GitHubCommentEntity } from "./github-comment.js";
import { InstallationEntity } from "./installation.js";
import { OutboundDeliveryEntity } from "./outbound-delivery.js";
import { OutboxJobEntity } from "./outbox-job.js";
import { OutboundWebhookEntity } from "./outbound-webhook.js";
import { OrganizationEntity } from "./organization.js";
import { RedeliveryRequestEntity } from "./redelivery-request.js";
import { TaskDependencyEntity } from "./task-dependency.js";
import { TaskEventEntity } from "./task-event.js";
import { TaskRunEntity } from "./task-run.js";
import { TaskEntity } from "./task.js";
import { TeamEntity } from "./team.js";
import { WebhookEntity } from "./webhook.js";

export const ENTITIES = [
  OrganizationEntity, TeamEntity, AgentEntity, TaskEntity, TaskDependencyEntity, TaskEventEntity,
  InstallationEntity, WebhookEntity, DeliveryEntity, ApiKeyEntity, OutboundWebhookEntity, OutboundDeliveryEntity,
  OutboxJobEntity, GitHubCommentEntity, RedeliveryRequestEntity,
  AgentMessageEntity, TaskRunEntity, AppSettingEntity, ConsoleSessionEntity,
];
