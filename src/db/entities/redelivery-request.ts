import { EntitySchema } from "typeorm";
import { timestamp } from "./columns.js";

/** A GitHub delivery we asked GitHub to send again, so that one is not asked for on every run. */
export interface RedeliveryRequest {
  /** The X-GitHub-Delivery id. */
  guid: string;
  /** GitHub's id of the hook delivery the request named. */
  hook_delivery_id: number;
  /** `issues.opened`, or the bare event name. */
  event: string | null;
  requested_at: Date;
  requests: number;
}

export const RedeliveryRequestEntity = new EntitySchema<RedeliveryRequest>({
  name: "RedeliveryRequest",
  tableName: "github_redelivery_requests",
  columns: {
    guid: { type: "text", primary: true },
    hook_delivery_id: { type: "bigint" },
    event: { type: "text", nullable: true },
    requested_at: { ...timestamp, default: () => "now()" },
    requests: { type: "integer", default: 1 },
  },
});
