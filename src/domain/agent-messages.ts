import type { AgentMessage, MessageSenderType } from "../db/entities/agent-message.js";
import { sql, type Queryable } from "../db/sql.js";
import { ValidationError } from "./errors.js";

export const MAX_INBOX_MESSAGES = 100;

export interface NewAgentMessage {
  orgId: string;
  agentId: string;
  taskId: number;
  from: { type: MessageSenderType; name?: string };
  body: string;
}

/** Leaves a message for an agent about a task of its team; it waits unread until the agent's inbox hands it over. */
export async function sendAgentMessage(db: Queryable, message: NewAgentMessage): Promise<AgentMessage> {
  const result = await sql<AgentMessage>(
    db,
    `INSERT INTO agent_messages (org_id, agent_id, task_id, sender_type, sender, body)
     SELECT a.org_id, a.id, t.id, $4, $5, $6
       FROM agents a JOIN tasks t ON t.team_id = a.team_id AND t.org_id = a.org_id
      WHERE a.id = $1 AND t.id = $2 AND a.org_id = $3
     RETURNING *`,
    [message.agentId, message.taskId, message.orgId, message.from.type, message.from.name ?? null, message.body],
  );
  if (!result.rows[0]) throw new ValidationError(`task ${message.taskId} is not a task of agent ${message.agentId}'s team`, "invalid_message");
  return result.rows[0];
}

/**
 * The agent's unread messages, oldest first, marked read as they are handed over: each message is
 * returned once, also when two inbox calls race (the second skips rows the first holds).
 */
export async function takeUnreadMessages(db: Queryable, orgId: string, agentId: string): Promise<AgentMessage[]> {
  const result = await sql<AgentMessage>(
    db,
    `UPDATE agent_messages SET read_at = now()
      WHERE id IN (SELECT id FROM agent_messages WHERE agent_id = $1 AND org_id = $2 AND read_at IS NULL
                    ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [agentId, orgId, MAX_INBOX_MESSAGES],
  );
  return result.rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id));
}
