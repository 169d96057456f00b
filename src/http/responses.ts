import { z } from "zod";
import { AGENT_ROLES, AGENT_STATUSES } from "../db/entities/agent.js";
import { API_KEY_ROLES } from "../db/entities/api-key.js";
import { MESSAGE_SENDER_TYPES } from "../db/entities/agent-message.js";
import { DELIVERY_STATUSES } from "../db/entities/delivery.js";
import { OUTBOUND_DELIVERY_STATUSES } from "../db/entities/outbound-delivery.js";
import { TASK_PRIORITIES, TASK_STATUSES, type TaskPullRequest, type TaskSource } from "../db/entities/task.js";
import { RUN_OUTCOMES } from "../db/entities/task-run.js";

// The API's 2xx answers: each schema documents one and serializes it, so it lists every field the domain function returns.

/** A timestamp: a Date from the database, ISO 8601 in JSON. */
const at = z.date();
// Ids are documented as uuids but not checked again on the way out.
const uuid = z.string().meta({ format: "uuid" });
const count = z.number().int();
/** A jsonb object whose keys are the caller's or GitHub's. */
const openObject = z.record(z.string(), z.unknown());

const EXAMPLE_AT = "2026-05-14T09:30:00.000Z";
const EXAMPLE_ORG = "0196c4a2-7d0e-7c3a-9f1e-3b8f1c2d4e5a";
const EXAMPLE_TEAM = "0196c4a2-7d0e-7c3a-9f1e-3b8f1c2d4e5b";

/** A list page: newest first; next_cursor asks for the next page, null on the last. */
export function page<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() })
    .describe("One page, newest first; next_cursor asks for the next page, null on the last");
}

/** An answer without a body. */
export const noContent = z.undefined().describe("Done; no body");

export const health = z.object({
  status: z.enum(["ok", "degraded"]),
  postgres: z.boolean(),
  redis: z.boolean().nullable().describe("null when the queue runs in-process"),
}).meta({ id: "Health", description: "The database and the queue, up or not", examples: [{ status: "ok", postgres: true, redis: true }] });

export const organization = z.object({
  id: uuid,
  slug: z.string(),
  name: z.string(),
  github_login: z.string().nullable(),
  created_at: at,
  updated_at: at,
}).meta({ id: "Organization", description: "An organization" });

export const team = z.object({
  id: uuid,
  org_id: uuid,
  slug: z.string(),
  name: z.string(),
  created_at: at,
  updated_at: at,
}).meta({
  id: "Team", description: "A team",
  examples: [{ id: EXAMPLE_TEAM, org_id: EXAMPLE_ORG, slug: "web", name: "Web", created_at: EXAMPLE_AT, updated_at: EXAMPLE_AT }],
});

export const agent = z.object({
  id: uuid,
  org_id: uuid,
  team_id: uuid,
  name: z.string(),
  role: z.enum(AGENT_ROLES),
  status: z.enum(AGENT_STATUSES),
  config: openObject,
  idle_since: at.nullable(),
  created_at: at,
  updated_at: at,
}).meta({
  id: "Agent", description: "An agent of a team",
  examples: [{
    id: "0196c4a3-1b2c-7d4e-8f90-a1b2c3d4e5f6", org_id: EXAMPLE_ORG, team_id: EXAMPLE_TEAM, name: "alice", role: "engineer", status: "idle",
    config: {}, idle_since: EXAMPLE_AT, created_at: EXAMPLE_AT, updated_at: EXAMPLE_AT,
  }],
});

export const agentMessage = z.object({
  id: uuid,
  org_id: uuid,
  agent_id: uuid,
  task_id: count,
  sender_type: z.enum(MESSAGE_SENDER_TYPES),
  sender: z.string().nullable(),
  body: z.string(),
  read_at: at.nullable(),
  created_at: at,
}).meta({ id: "AgentMessage", description: "A message to an agent about a task; read_at is set when its inbox hands it over" });

const apiKeyFields = {
  id: uuid,
  org_id: uuid,
  name: z.string(),
  role: z.enum(API_KEY_ROLES),
  agent_id: uuid.nullable(),
  key_prefix: z.string(),
  last_used_at: at.nullable(),
  revoked_at: at.nullable(),
  created_at: at,
};

export const apiKey = z.object(apiKeyFields).meta({ id: "ApiKey", description: "An API key, never the key itself" });

export const createdApiKey = z.object({ ...apiKeyFields, api_key: z.string().describe("the key: shown only in this answer") })
  .meta({ id: "CreatedApiKey", description: "The new key, with the key itself" });

export const createdAgentKey = z.object({
  id: uuid,
  agent_id: uuid.nullable(),
  key: z.string().describe("the key: shown only in this answer"),
  created_at: at,
}).meta({ id: "CreatedAgentKey", description: "A new key that acts as the agent" });

export const accessToken = z.object({
  token: z.string().describe("send as Authorization: Bearer"),
  expires_at: z.string().meta({ format: "date-time" }),
}).meta({ id: "AccessToken", description: "A short-lived bearer token" });

// jsonb the app writes: every key listed, none required (older rows lack some), and kept when not listed.
const taskSource = z.looseObject({
  provider: z.enum(["github", "github_app"]).optional(),
  repository: z.string().optional().describe("owner/name"),
  number: count.optional(),
  kind: z.enum(["issue", "pull_request"]).optional(),
  url: z.string().optional(),
  installation_id: z.number().nullable().optional(),
  clone_url: z.string().optional(),
  default_branch: z.string().optional(),
}).describe("the issue or pull request the task came from") as unknown as z.ZodType<TaskSource>;

export const pullRequest = z.looseObject({
  number: count.optional(),
  url: z.string().optional(),
  branch: z.string().optional(),
}).meta({ id: "PullRequest", description: "The pull request an agent's run opened for the task" }) as unknown as z.ZodType<TaskPullRequest>;

const taskFields = {
  id: count,
  org_id: uuid,
  team_id: uuid,
  parent_id: count.nullable(),
  title: z.string(),
  description: z.string(),
  priority: z.enum(TASK_PRIORITIES),
  status: z.enum(TASK_STATUSES),
  tags: z.array(z.string()),
  assignee_id: uuid.nullable(),
  source: taskSource.nullable(),
  webhook_id: uuid.nullable(),
  auto_assign: z.boolean(),
  dispatch_round: count,
  dispatched_at: at.nullable(),
  acknowledged_at: at.nullable(),
  pull_request: pullRequest.nullable(),
  failed_runs: count,
  needs_human: z.boolean(),
  waiting_for_human: z.boolean(),
  created_at: at,
  updated_at: at,
  completed_at: at.nullable(),
};

const EXAMPLE_TASK = {
  id: 601, org_id: EXAMPLE_ORG, team_id: EXAMPLE_TEAM, parent_id: null, title: "Login broken on Safari",
  description: "GitHub Issue #42\n\nThe login button does nothing on Safari 17.", priority: "high", status: "todo", tags: ["bug"],
  assignee_id: null, source: { provider: "github", repository: "acme/web", number: 42, kind: "issue", url: "https://github.com/acme/web/issues/42", installation_id: null },
  webhook_id: "0196c4a4-0a1b-7c2d-8e3f-4a5b6c7d8e9f", auto_assign: true, dispatch_round: 0, dispatched_at: null, acknowledged_at: null,
  pull_request: null, failed_runs: 0, needs_human: false, waiting_for_human: false, created_at: EXAMPLE_AT, updated_at: EXAMPLE_AT, completed_at: null,
};

export const task = z.object(taskFields).meta({ id: "Task", description: "A task", examples: [EXAMPLE_TASK] });

export const subtask = z.object({ ...taskFields, depends_on: z.array(count).describe("the tasks it waits for") })
  .meta({ id: "Subtask", description: "A new sub-task with the tasks it depends on" });

export const taskDependencies = z.object({ task_id: count, depends_on: z.array(count) })
  .meta({ id: "TaskDependencies", description: "The tasks this task depends on now", examples: [{ task_id: 601, depends_on: [598, 599] }] });

export const taskEvent = z.object({
  id: uuid,
  task_id: count,
  type: z.string().describe("task.created, task.status_changed, task.assigned, …"),
  from: z.string().nullable().describe("the status before, for a move"),
  to: z.string().nullable().describe("the status after, for a move"),
  actor_type: z.string().describe("system, api_key, user, agent or webhook"),
  actor_id: z.string().nullable(),
  data: openObject,
  created_at: at,
}).meta({ id: "TaskEvent", description: "One change of a task" });

const webhookFields = {
  id: uuid,
  org_id: uuid,
  team_id: uuid.nullable(),
  installation_id: uuid.nullable().describe("set on a GitHub App installation's row"),
  name: z.string(),
  provider: z.string().describe("github, github_app or custom"),
  events: z.array(z.string()),
  config: openObject.describe("auto_assign, label_priorities, and any other key"),
  active: z.boolean(),
  created_at: at,
  updated_at: at,
};

const EXAMPLE_WEBHOOK = {
  id: "0196c4a4-0a1b-7c2d-8e3f-4a5b6c7d8e9f", org_id: EXAMPLE_ORG, team_id: EXAMPLE_TEAM, installation_id: null, name: "acme/web",
  provider: "github", events: ["issues", "pull_request"], config: { auto_assign: true }, active: true, created_at: EXAMPLE_AT, updated_at: EXAMPLE_AT,
};

export const webhook = z.object(webhookFields).meta({ id: "Webhook", description: "A webhook, never its secret", examples: [EXAMPLE_WEBHOOK] });

export const createdWebhook = z.object({ ...webhookFields, secret: z.string().describe("the signing secret: shown only in this answer") })
  .meta({ id: "CreatedWebhook", description: "The new webhook, with its secret" });

export const newSecret = z.object({ id: uuid, secret: z.string().describe("the new secret: shown only in this answer") })
  .meta({ id: "NewSecret", description: "The webhook's new secret" });

const deliveryFields = {
  id: uuid,
  webhook_id: uuid.nullable(),
  github_delivery_id: z.string(),
  event_type: z.string().describe("issues.opened, or the bare event name when it has no action"),
  action: z.string().nullable(),
  status: z.enum(DELIVERY_STATUSES),
  payload_summary: openObject,
  action_taken: z.string().nullable(),
  task_id: count.nullable(),
  error: z.string().nullable(),
  attempts: count,
  redeliveries: count,
  created_at: at,
  processed_at: at.nullable(),
};

export const deliveryListItem = z.object(deliveryFields).meta({ id: "DeliveryListItem", description: "A delivery without its payload" });

export const delivery = z.object({ ...deliveryFields, org_id: uuid.nullable(), payload: openObject.describe("the payload as it was signed") })
  .meta({ id: "Delivery", description: "A delivery with its payload" });

export const reopenedDelivery = z.object({ delivery_id: uuid, status: z.literal("received") })
  .meta({ id: "ReopenedDelivery", description: "The delivery is queued for processing again" });

export const installation = z.object({
  id: uuid,
  github_installation_id: z.number().int(),
  account_login: z.string().nullable(),
  account_type: z.string().nullable(),
  repository_selection: z.string().nullable(),
  repositories: z.array(z.string()).nullable().describe("owner/name of each repository, when GitHub told"),
  permissions: z.record(z.string(), z.string()),
  suspended_at: at.nullable(),
  deleted_at: at.nullable(),
  webhook_id: uuid.nullable().describe("the installation's settings row; null until linked to the organization"),
  team_id: uuid.nullable(),
  events: z.array(z.string()).nullable(),
  config: openObject.nullable(),
  active: z.boolean().nullable(),
  created_at: at,
  updated_at: at,
}).meta({ id: "Installation", description: "A GitHub App installation with its repositories and settings" });

const outboundWebhookFields = {
  id: uuid,
  org_id: uuid,
  team_id: uuid.nullable(),
  url: z.string(),
  events: z.array(z.string()),
  active: z.boolean(),
  last_success_at: at.nullable(),
  failing_since: at.nullable(),
  disabled_at: at.nullable(),
  disabled_reason: z.string().nullable(),
  created_at: at,
  updated_at: at,
  has_api_key: z.boolean(),
};

export const outboundWebhook = z.object(outboundWebhookFields).meta({ id: "OutboundWebhook", description: "A subscription, never its secret or API key" });

export const createdOutboundWebhook = z.object({ ...outboundWebhookFields, secret: z.string().describe("the signing secret: shown only in this answer") })
  .meta({ id: "CreatedOutboundWebhook", description: "The new subscription, with its signing secret" });

const outboundDeliveryFields = {
  id: uuid,
  outbound_webhook_id: uuid,
  event: z.string(),
  task_id: count.nullable(),
  status: z.enum(OUTBOUND_DELIVERY_STATUSES),
  attempts: count,
  redeliveries: count,
  last_response_code: count.nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: at.nullable(),
  delivered_at: at.nullable(),
  created_at: at,
  updated_at: at,
};

export const outboundDeliveryListItem = z.object(outboundDeliveryFields)
  .meta({ id: "OutboundDeliveryListItem", description: "A notification and how its attempts went" });

export const outboundDelivery = z.object({ ...outboundDeliveryFields, payload: z.unknown().describe("the JSON body every attempt sends") })
  .meta({ id: "OutboundDelivery", description: "A notification with the payload it sends" });

const runFields = {
  id: uuid,
  org_id: uuid,
  task_id: count,
  agent_id: uuid,
  number: count.describe("1 for the task's first run"),
  outcome: z.enum(RUN_OUTCOMES),
  reason: z.string().nullable(),
  exit_code: count.nullable(),
  log_size: z.number().int().describe("characters of output received in all"),
  started_at: at,
  heartbeat_at: at,
  finished_at: at.nullable(),
};

export const run = z.object(runFields).meta({ id: "Run", description: "A run of an agent's runner, without its output" });

export const runWithLog = z.object({ ...runFields, log: z.string().describe("the last 1 MiB of the output, secrets redacted") })
  .meta({ id: "RunWithLog", description: "A run with its output" });

export const claim = z.union([
  z.object({
    run: z.object({ id: uuid, number: count, task_id: count, heartbeat_interval_s: count }),
    task,
    workspace: z.object({
      repository: z.string(),
      clone_url: z.string(),
      branch: z.string(),
      default_branch: z.string().nullable(),
      github_url: z.string(),
    }).nullable().describe("where to clone; null for a task that did not come from GitHub"),
    prompt: z.string().describe("what to tell the agent's command"),
  }),
  z.object({ run: z.null() }).describe("no work within wait_s"),
]).meta({ id: "Claim", description: "The run started, its task and workspace; or no run" });

export const pushToken = z.object({ token: z.string(), expires_at: z.string().meta({ format: "date-time" }) })
  .meta({ id: "PushToken", description: "A token that may push to the task's repository" });

export const heartbeat = z.object({ cancel: z.boolean(), reason: z.string().optional().describe("why to stop, when cancel") })
  .meta({ id: "Heartbeat", description: "Whether the runner should stop its command" });
