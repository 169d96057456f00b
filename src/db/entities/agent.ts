import { EntitySchema } from "typeorm";
import { createdAt, timestamp, updatedAt, uuidPrimary } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const AGENT_ROLES = ["manager", "engineer", "reviewer"] as const;
export const AGENT_STATUSES = ["idle", "working", "paused"] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export interface Agent {
  id: string;
  org_id: string;
  team_id: string;
  name: string;
  role: AgentRole;
  status: AgentStatus;
  config: Record<string, unknown>;
  idle_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const AgentEntity = new EntitySchema<Agent>({
  name: "Agent",
  tableName: "agents",
  columns: {
    id: uuidPrimary,
    org_id: { type: "uuid" },
    team_id: { type: "uuid" },
    name: { type: "text" },
    role: { type: "text" },
    status: { type: "text", default: "idle" },
    config: { type: "jsonb", default: {} },
    idle_since: { ...timestamp, nullable: true, default: () => "now()" },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  uniques: [{ columns: ["team_id", "name"] }],
  checks: [oneOf("agents", "role", AGENT_ROLES), oneOf("agents", "status", AGENT_STATUSES)],
  foreignKeys: [references("org_id", "Organization"), references("team_id", "Team")],
});
