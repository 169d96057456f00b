import { EntitySchema } from "typeorm";
import { createdAt, timestamp, uuidPrimary } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const MESSAGE_SENDER_TYPES = ["person", "review", "system"] as const;
export type MessageSenderType = (typeof MESSAGE_SENDER_TYPES)[number];

/** A message to an agent about a task; read_at is set when the agent's inbox hands it over. */
export interface AgentMessage {
  id: string;
  org_id: string;
  agent_id: string;
  task_id: number;
  sender_type: MessageSenderType;
  /** Who sent it, in words: a GitHub login, a reviewer's name; null for the system. */
  sender: string | null;
  body: string;
  read_at: Date | null;
  created_at: Date;
}

export const AgentMessageEntity = new EntitySchema<AgentMessage>({
  name: "AgentMessage",
  tableName: "agent_messages",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    agent_id: { type: "uuid" },
    task_id: { type: "integer" },
    sender_type: { type: "text" },
    sender: { type: "text", nullable: true },
    body: { type: "text" },
    read_at: { ...timestamp, nullable: true },
    created_at: createdAt,
  },
  checks: [oneOf("agent_messages", "sender_type", MESSAGE_SENDER_TYPES)],
  foreignKeys: [references("org_id", "Organization"), references("agent_id", "Agent"), references("task_id", "Task")],
  indices: [{ name: "agent_messages_unread_idx", columns: ["agent_id", "created_at"], where: "read_at IS NULL" }],
});
