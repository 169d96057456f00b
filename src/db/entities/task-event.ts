import { EntitySchema } from "typeorm";
import { createdAt, uuidPrimary } from "./columns.js";
import { references } from "./constraints.js";

export type ActorType = "system" | "api_key" | "user" | "agent" | "webhook";

/** One change of a task; rows are never updated or deleted (a trigger of the initial migration refuses both). */
export interface TaskEvent {
  id: string;
  task_id: number;
  org_id: string;
  type: string;
  from_status: string | null;
  to_status: string | null;
  actor_type: ActorType;
  actor_id: string | null;
  data: Record<string, unknown>;
  created_at: Date;
}

export const TaskEventEntity = new EntitySchema<TaskEvent>({
  name: "TaskEvent",
  tableName: "task_events",
  columns: {
    id: uuidPrimary,
    task_id: { type: "integer" },
    org_id: { type: "uuid" },
    type: { type: "text" },
    from_status: { type: "text", nullable: true },
    to_status: { type: "text", nullable: true },
    actor_type: { type: "text" },
    actor_id: { type: "text", nullable: true },
    data: { type: "jsonb", default: {} },
    created_at: createdAt,
  },
  indices: [{ name: "task_events_task_idx", columns: ["task_id", "created_at", "id"] }],
  foreignKeys: [references("task_id", "Task"), references("org_id", "Organization")],
});
