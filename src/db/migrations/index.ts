import { InitialSchema1764115200000 } from "./1764115200000-initial-schema.js";
import { AgentsAtWork1764201600000 } from "./1764201600000-agents-at-work.js";
import { DeliveryRedeliveries1764217800000 } from "./1764217800000-delivery-redeliveries.js";
import { RedeliveryRequests1764300000000 } from "./1764300000000-redelivery-requests.js";
import { OutboundWebhooks1764386400000 } from "./1764386400000-outbound-webhooks.js";
import { OutboxFinished1764900000000 } from "./1764900000000-outbox-finished.js";
import { AgentKeys1765000000000 } from "./1765000000000-agent-keys.js";
import { AgentMessages1765000000001 } from "./1765000000001-agent-messages.js";
import { TaskRuns1765100000000 } from "./1765100000000-task-runs.js";
import { Conversation1765200000000 } from "./1765200000000-conversation.js";
import { AppSettings1765300000000 } from "./1765300000000-app-settings.js";
import { ConsoleSessions1796519044391 } from "./1796519044391-console-sessions.js";
import { ConsoleViews1796521020858 } from "./1796521020858-console-views.js";
import { PayloadLz41796600000000 } from "./1796600000000-payload-lz4.js";

export const MIGRATIONS = [InitialSchema1764115200000, AgentsAtWork1764201600000, DeliveryRedeliveries1764217800000, RedeliveryRequests1764300000000,
  OutboundWebhooks1764386400000, OutboxFinished1764900000000, AgentKeys1765000000000, AgentMessages1765000000001,
  TaskRuns1765100000000, Conversation1765200000000, AppSettings1765300000000,
  ConsoleSessions1796519044391,
  ConsoleViews1796521020858, PayloadLz41796600000000];
